package dev.ferry.vmm.guest;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.dirty.DirtyTracker;
import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.VmConfig;
import dev.ferry.vmm.boot.MultibootKernel;
import dev.ferry.vmm.devices.TextCapture;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The workload guest on this machine's {@code /dev/kvm} through Ferry's own VMM: it ticks, heartbeats and
 * dirties pages at the requested rate as counted by the KVM dirty log. Runs where KVM cannot emulate a
 * protected-mode IRET (nested KVM without hardware virtualization), which the guest must never execute.
 *
 * <p>Rates are judged per guest tick (pages in the dirty log over heartbeats seen in the same window), so a
 * loaded host that delivers fewer ticks does not fail a guest that pays exactly per tick.
 */
@RequiresKvm
class WorkloadGuestKvmTest {
    private static final long MEMORY = 320L << 20;
    private static final long WORKING_SET_BASE = 4L << 20;
    /** Large enough that a sequential second at the highest rate tested never wraps. */
    private static final long WORKING_SET = 256L << 20;
    private static final int PAGE = 4096;
    private static final int TICK_HZ = 1000;
    private static final Duration BOOT_DEADLINE = Duration.ofSeconds(10);
    private static final Duration WINDOW = Duration.ofSeconds(1);
    private static final Pattern REPORT = Pattern.compile("ferry-workload: ticks=(\\d+) pages=(\\d+)\n");

    @Test
    void heartbeatsArriveAboutOncePerMillisecond() throws Exception {
        try (Guest guest = Guest.boot("heartbeats", "rate=1048576 pattern=sequential wss=8388608")) {
            long before = guest.vm.heartbeats().count();
            long from = System.nanoTime();
            Thread.sleep(3 * WINDOW.toMillis());
            long to = System.nanoTime();
            long beats = guest.vm.heartbeats().count() - before;
            long gap = guest.vm.heartbeats().largestGapNanos(from, to);
            System.out.printf("workload under KVM: %d heartbeats in %d ms, largest gap %.2f ms%n",
                    beats, (to - from) / 1_000_000, gap / 1e6);
            guest.assertRunning();
            assertTrue(beats > 900, beats + " heartbeats in three seconds");
        }
    }

    @Test
    void theDirtyLogSeesTheRequestedRate() throws Exception {
        for (long rate : new long[] {4L << 20, 16L << 20, 64L << 20}) {
            try (Guest guest = Guest.boot("rate-" + rate, "rate=" + rate + " pattern=sequential wss=" + WORKING_SET)) {
                Window window = guest.measure();
                guest.assertRunning();
                double measured = window.bytesPerTick() * TICK_HZ;
                System.out.printf("workload under KVM: rate=%d measured %.0f bytes/s (%d pages over %d ticks,"
                                + " %.2f s of wall time, largest heartbeat gap %.2f ms)%n",
                        rate, measured, window.pages, window.ticks, window.nanos / 1e9, window.largestGapNanos / 1e6);
                assertTrue(window.ticks > 300, window.ticks + " ticks in the window");
                assertTrue(Math.abs(measured - rate) <= rate * 0.10,
                        "rate=" + rate + " but the dirty log counted " + measured + " bytes per guest second");
            }
        }
    }

    /** Not a goal: prints what this host's vCPU reaches flat out, so the rates above stay reachable. */
    @Test
    void rateMaxWritesWithoutHalting() throws Exception {
        for (String pattern : new String[] {"sequential", "uniform"}) {
            try (Guest guest = Guest.boot("max-" + pattern, "rate=max pattern=" + pattern + " wss=" + WORKING_SET
                    + " report=1")) {
                long reported = guest.pagesInSecondTwo();
                Window window = guest.measure();
                guest.assertRunning();
                double tracked = window.bytesPerTick() * TICK_HZ;
                System.out.printf("workload under KVM: rate=max pattern=%s: untracked %d pages/s (%.1f MiB/s) by its"
                                + " own count; tracked, the dirty log saw %d distinct pages over %d ticks (%.1f MiB/s),"
                                + " largest heartbeat gap %.2f ms%n", pattern, reported,
                        reported * (double) PAGE / (1 << 20), window.pages, window.ticks, tracked / (1 << 20),
                        window.largestGapNanos / 1e6);
                assertTrue(window.pages > 0, "the dirty log saw no writes");
                assertTrue(reported > 0, "the guest reported no writes");
            }
        }
    }

    @Test
    void theLapicTimerTicksToo() throws Exception {
        try (Guest guest = Guest.boot("lapic", "rate=4194304 pattern=sequential wss=8388608 timer=lapic")) {
            assertTrue(guest.awaitDebug("counts/ms at divide 16"), "calibration line in:\n" + guest.debug.text());
            long before = guest.vm.heartbeats().count();
            Thread.sleep(500);
            long beats = guest.vm.heartbeats().count() - before;
            guest.assertRunning();
            assertTrue(guest.debug.text().contains("timer=lapic"), guest.debug.text());
            assertFalse(guest.debug.text().contains("timer=pit instead"), guest.debug.text());
            assertTrue(beats > 150, beats + " heartbeats in half a second");
        }
    }

    private record Window(long pages, long ticks, long nanos, long largestGapNanos) {
        double bytesPerTick() {
            return ticks == 0 ? 0 : pages * (double) PAGE / ticks;
        }
    }

    private static final class Guest implements AutoCloseable {
        final KvmVm vm;
        final TextCapture debug = new TextCapture();

        private Guest(String name, String commandLine) {
            byte[] kernel = new GuestImage("workload.elf").bytes();
            vm = KvmVm.create(new VmConfig("workload-" + name, MEMORY, 1, new MultibootKernel(kernel),
                    new TextCapture(), debug, commandLine));
        }

        static Guest boot(String name, String commandLine) throws InterruptedException {
            Guest guest = new Guest(name, commandLine);
            try {
                guest.vm.resume();
                long deadline = System.nanoTime() + BOOT_DEADLINE.toNanos();
                while (guest.vm.heartbeats().count() < 20 && System.nanoTime() < deadline) {
                    guest.assertRunning();
                    Thread.sleep(5);
                }
                guest.assertRunning();
                assertTrue(guest.vm.heartbeats().count() >= 20, "no heartbeats; debug console:\n" + guest.debug.text());
                return guest;
            } catch (RuntimeException | Error e) {
                guest.close();
                throw e;
            }
        }

        void assertRunning() {
            assertFalse(vm.stopReason().isPresent(),
                    "VM stopped: " + vm.stopReason().orElse("") + "\ndebug console:\n" + debug.text());
        }

        boolean awaitDebug(String text) throws InterruptedException {
            long deadline = System.nanoTime() + BOOT_DEADLINE.toNanos();
            while (!debug.text().contains(text) && System.nanoTime() < deadline) {
                assertRunning();
                Thread.sleep(5);
            }
            return debug.text().contains(text);
        }

        /**
         * Pages of the working set written in one window and the guest ticks (heartbeats) in it. The first sync
         * reports every page; re-arming them all makes the second report exactly the pages written in between.
         */
        Window measure() throws InterruptedException {
            DirtyTracker tracker = vm.dirtyTracker();
            long pageCount = tracker.pageCount();
            tracker.start();
            try (DirtyBitmap dirty = new DirtyBitmap(pageCount)) {
                tracker.sync(dirty);
                tracker.rearm(dirty, 0, pageCount);
                dirty.clearAll();
                long ticksBefore = vm.heartbeats().count();
                long from = System.nanoTime();
                Thread.sleep(WINDOW.toMillis());
                tracker.sync(dirty);
                long ticks = vm.heartbeats().count() - ticksBefore;
                long to = System.nanoTime();
                long pages = dirty.countRange(WORKING_SET_BASE / PAGE, WORKING_SET / PAGE);
                return new Window(pages, ticks, to - from, vm.heartbeats().largestGapNanos(from, to));
            } finally {
                tracker.stop();
            }
        }

        /** Pages written in the guest's second second, from its reports (needs report=1). */
        long pagesInSecondTwo() throws InterruptedException {
            assertTrue(awaitDebug("ticks=2000 "), "two reports in:\n" + debug.text());
            Matcher reports = REPORT.matcher(debug.text());
            assertTrue(reports.find() && reports.group(1).equals("1000"), debug.text());
            long first = Long.parseLong(reports.group(2));
            assertTrue(reports.find() && reports.group(1).equals("2000"), debug.text());
            return Long.parseLong(reports.group(2)) - first;
        }

        @Override
        public void close() {
            vm.close();
        }
    }
}
