package dev.ferry.vmm.guest;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.dirty.DirtyTracker;
import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.VmConfig;
import dev.ferry.vmm.boot.MultibootKernel;
import dev.ferry.vmm.devices.TextCapture;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Prints what the workload guest achieves on this host's KVM: pages per second at rate=max (sequential and
 * uniform, with and without the dirty log being synced and re-armed as a migration does) and the regularity
 * of its heartbeats (largest gap) idle and at rate=max. Run it as a main class (see the guest README).
 */
public final class WorkloadGuestBench {
    private static final long MEMORY = 1L << 30;
    /** Fits in the host's caches less and less: 64 MiB is the default, 768 MiB is most of the VM. */
    private static final long WSS = 64L << 20;
    private static final long LARGE_WSS = 768L << 20;
    private static final int SECONDS = 5;
    private static final long SYNC_PERIOD_MS = 100;
    private static final Pattern REPORT = Pattern.compile("ferry-workload: ticks=(\\d+) pages=(\\d+)\n");

    private WorkloadGuestBench() {
    }

    public static void main(String[] args) throws Exception {
        System.out.printf("workload guest, %d MiB VM, wss %d MiB, %d s per case%n", MEMORY >> 20, WSS >> 20, SECONDS);
        if (args.length > 0) {
            // Each argument is one command line to measure (report=1 is added), e.g. "rate=max wss=1048576".
            for (String line : args) {
                measure(line, line + " report=1", false);
            }
            return;
        }
        measure("idle (rate=0)", "heartbeat=1 report=1", false);
        measure("rate=max sequential", "rate=max pattern=sequential wss=" + WSS + " report=1", false);
        measure("rate=max uniform", "rate=max pattern=uniform wss=" + WSS + " report=1", false);
        measure("rate=max sequential, 768 MiB", "rate=max pattern=sequential wss=" + LARGE_WSS + " report=1", false);
        measure("rate=max uniform, 768 MiB", "rate=max pattern=uniform wss=" + LARGE_WSS + " report=1", false);
        measure("rate=max sequential, dirty log synced every 100 ms", "rate=max pattern=sequential wss=" + WSS + " report=1", true);
        measure("rate=max uniform, dirty log synced every 100 ms", "rate=max pattern=uniform wss=" + WSS + " report=1", true);
    }

    private static void measure(String title, String commandLine, boolean tracking) throws Exception {
        TextCapture serial = new TextCapture();
        TextCapture debug = new TextCapture();
        MultibootKernel kernel = new MultibootKernel(new GuestImage("workload.elf").bytes());
        try (KvmVm vm = KvmVm.create(new VmConfig("bench", MEMORY, 1, kernel, serial, debug, commandLine))) {
            vm.resume();
            while (!debug.text().contains("heartbeat=1\n")) {
                if (vm.stopReason().isPresent()) {
                    throw new IllegalStateException("guest stopped: " + vm.stopReason().get() + "\n" + debug.text());
                }
                Thread.sleep(5);
            }
            DirtyTracker tracker = vm.dirtyTracker();
            DirtyBitmap dirty = tracking ? new DirtyBitmap(tracker.pageCount()) : null;
            if (tracking) {
                tracker.start();
            }
            long syncs = 0;
            long synced = 0;
            long syncNanos = 0;
            long start = System.nanoTime();
            long from = vm.heartbeats().count();
            long end = start + SECONDS * 1_000_000_000L;
            while (System.nanoTime() < end) {
                Thread.sleep(tracking ? SYNC_PERIOD_MS : 50);
                if (tracking) {
                    long t = System.nanoTime();
                    dirty.clearAll();
                    tracker.sync(dirty);
                    tracker.rearm(dirty, 0, tracker.pageCount());
                    syncNanos += System.nanoTime() - t;
                    synced += dirty.count();
                    syncs++;
                }
            }
            long wall = System.nanoTime() - start;
            long beats = vm.heartbeats().count() - from;
            long gap = vm.heartbeats().largestGapNanos(start, start + wall);
            if (tracking) {
                tracker.stop();
                dirty.close();
            }
            List<long[]> reports = reports(debug.text());
            System.out.printf("%s:%n  heartbeats %d in %.2f s wall (%.3f per ms), largest gap %.2f ms%n",
                    title, beats, wall / 1e9, beats / (wall / 1e6), gap / 1e6);
            if (reports.size() >= 3) {
                reports = reports.subList(1, reports.size());
            }
            if (reports.size() >= 2) {
                long[] first = reports.getFirst(); // the first second includes the first touch of the pages
                long[] last = reports.getLast();
                double guestSeconds = (last[0] - first[0]) / 1000.0;
                double pagesPerSecond = (last[1] - first[1]) / guestSeconds;
                // A page write stores 12 bytes in one page; the workload's rate counts it as 4096 bytes dirtied.
                System.out.printf("  guest reports: %.0f page writes/s = rate %.1f MiB/s over %.0f guest seconds (the first skipped)%n",
                        pagesPerSecond, pagesPerSecond * 4096 / (1 << 20), guestSeconds);
            }
            if (reports.size() < 2) {
                System.out.printf("  no guest reports; stop reason %s; debug console:%n%s%n", vm.stopReason(), debug.text());
            }
            if (tracking && syncs > 0) {
                System.out.printf("  %d syncs, %.0f pages dirty per sync, %.2f ms per sync+rearm%n",
                        syncs, (double) synced / syncs, syncNanos / 1e6 / syncs);
            }
        }
    }

    /** (ticks, pages) of every report line; the counter is a wrapping u32 in the guest. */
    private static List<long[]> reports(String debug) {
        List<long[]> reports = new ArrayList<>();
        Matcher m = REPORT.matcher(debug);
        while (m.find()) {
            reports.add(new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))});
        }
        return reports;
    }
}
