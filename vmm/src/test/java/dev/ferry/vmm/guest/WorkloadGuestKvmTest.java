package dev.ferry.vmm.guest;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.dirty.DirtyTracker;
import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.VmConfig;
import dev.ferry.vmm.boot.MultibootKernel;
import dev.ferry.vmm.devices.TextCapture;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The workload guest on this machine's KVM, through the VMM: it ticks at about 1 kHz on the PIT and on the
 * local APIC timer, and dirties pages at the requested rate as KVM's dirty log sees it. Rates are judged in
 * the guest's own time (heartbeats between two dirty-log syncs), so a loaded host only stretches the test.
 */
@RequiresKvm
class WorkloadGuestKvmTest {
    private static final long MEMORY = 256L << 20;
    private static final long PAGE = 4096;
    private static final long WORKING_SET_BASE = 4L << 20;
    /** Sequential writes at the highest rate tested fill 128 MiB in a window: it never wraps. */
    private static final long WSS = 160L << 20;
    private static final int WINDOW_TICKS = 2000;
    private static final int WINDOW_ATTEMPTS = 2;
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    @Test
    void heartbeatsArriveAboutOncePerMillisecond() throws Exception {
        try (Booted guest = Booted.start("heartbeat", "heartbeat=1")) {
            long from = guest.vm.heartbeats().count();
            long start = System.nanoTime();
            Thread.sleep(1000);
            long beats = guest.vm.heartbeats().count() - from;
            double perMs = beats / ((System.nanoTime() - start) / 1e6);
            // Loose: a loaded host may delay ticks, but a 1 kHz tick is neither 10 Hz nor 10 kHz.
            assertTrue(perMs > 0.3 && perMs < 1.5, beats + " heartbeats in about a second: " + perMs + " per ms");
        }
    }

    @Test
    void theLocalApicTimerTicksToo() throws Exception {
        try (Booted guest = Booted.start("lapic", "timer=lapic")) {
            guest.awaitDebug("counts/ms at divide 16\n");
            long from = guest.vm.heartbeats().count();
            long start = System.nanoTime();
            Thread.sleep(1000);
            long beats = guest.vm.heartbeats().count() - from;
            double perMs = beats / ((System.nanoTime() - start) / 1e6);
            assertTrue(perMs > 0.3 && perMs < 1.5, beats + " APIC-timer heartbeats in about a second: " + perMs
                    + " per ms; debug console:\n" + guest.debug.text());
            assertTrue(guest.debug.text().startsWith("ferry-workload rate=0 pattern=uniform wss=67108864 timer=lapic"),
                    guest.debug.text());
        }
    }

    @Test
    void fillWritesTheWholeWorkingSetOnceAndThenNothing() throws Exception {
        long wss = 32L << 20;
        try (Booted guest = Booted.start("fill", "rate=0 wss=" + wss + " fill=1")) {
            guest.awaitDebug("ferry-workload: filled " + wss / PAGE + " pages");
            MemorySegment ram = guest.vm.ram().getFirst().memory();
            MemorySegment zero = MemorySegment.ofArray(new byte[(int) PAGE]);
            for (long page = WORKING_SET_BASE / PAGE; page < (WORKING_SET_BASE + wss) / PAGE; page++) {
                assertNotEquals(-1, ram.asSlice(page * PAGE, PAGE).mismatch(zero), "page " + page + " not filled");
            }
            assertEquals(-1, ram.asSlice(WORKING_SET_BASE + wss, PAGE).mismatch(zero), "the page past the working set");
            DirtyTracker tracker = guest.vm.dirtyTracker();
            try (DirtyBitmap dirty = new DirtyBitmap(tracker.pageCount())) {
                tracker.start();
                try {
                    tracker.sync(dirty);
                    tracker.rearm(dirty, 0, dirty.pages());
                    dirty.clearAll();
                    guest.awaitHeartbeats(guest.vm.heartbeats().count() + 200);
                    tracker.sync(dirty);
                    assertEquals(0, dirty.countRange(WORKING_SET_BASE / PAGE, wss / PAGE),
                            "working-set pages written after the fill");
                } finally {
                    tracker.stop();
                }
            }
        }
    }

    /**
     * KVM's dirty log counts each page once per window; sequential writes touch each page once. A window is
     * {@value #WINDOW_TICKS} ticks of guest time. A vCPU the host starves for a while can still fall behind
     * its own clock (its kernel-mode tick handling runs emulated here), so a window that misses is measured
     * once more before the rate is judged wrong.
     */
    @ParameterizedTest
    @ValueSource(longs = {4L << 20, 16L << 20, 64L << 20})
    void theDirtyLogSeesTheRequestedRate(long rate) throws Exception {
        String line = "rate=" + rate + " pattern=sequential wss=" + WSS;
        try (Booted guest = Booted.start("rate", line)) {
            DirtyTracker tracker = guest.vm.dirtyTracker();
            long pages = tracker.pageCount();
            try (DirtyBitmap dirty = new DirtyBitmap(pages)) {
                tracker.start();
                try {
                    tracker.sync(dirty); // everything counts as dirty at first
                    List<String> windows = new ArrayList<>();
                    for (int attempt = 0; attempt < WINDOW_ATTEMPTS; attempt++) {
                        tracker.rearm(dirty, 0, pages);
                        dirty.clearAll();
                        long fromTick = guest.vm.heartbeats().count();
                        guest.awaitHeartbeats(fromTick + WINDOW_TICKS);
                        tracker.sync(dirty);
                        long ticks = guest.vm.heartbeats().count() - fromTick;
                        long written = dirty.countRange(WORKING_SET_BASE / PAGE, WSS / PAGE);
                        double expected = (double) rate / PAGE * ticks / 1000;
                        long outside = dirty.count() - written;
                        assertTrue(outside < written / 10, outside + " pages dirtied outside the working set");
                        windows.add(written + " pages in " + ticks + " ticks (expected " + Math.round(expected) + ")");
                        if (Math.abs(written - expected) <= expected * 0.10) {
                            return;
                        }
                    }
                    fail("rate=" + rate + ": no window within 10%: " + windows);
                } finally {
                    tracker.stop();
                }
            }
        }
    }

    /** A running workload guest with its serial and debug output captured; closing it stops the VM. */
    private static final class Booted implements AutoCloseable {
        final KvmVm vm;
        final TextCapture serial = new TextCapture();
        final TextCapture debug = new TextCapture();

        private Booted(String name, String commandLine) {
            MultibootKernel kernel = new MultibootKernel(new GuestImage("workload.elf").bytes());
            vm = KvmVm.create(new VmConfig(name, MEMORY, 1, kernel, serial, debug, commandLine));
        }

        /** Boots and waits until the configuration line is out, so every later COM1 byte is a heartbeat. */
        static Booted start(String name, String commandLine) throws InterruptedException {
            Booted guest = new Booted(name, commandLine);
            try {
                guest.vm.resume();
                guest.awaitDebug("heartbeat=1\n");
                return guest;
            } catch (RuntimeException | Error | InterruptedException e) {
                guest.close();
                throw e;
            }
        }

        void awaitDebug(String text) throws InterruptedException {
            long deadline = System.nanoTime() + DEADLINE.toNanos();
            while (!debug.text().contains(text)) {
                if (vm.stopReason().isPresent() || System.nanoTime() > deadline) {
                    fail("no '" + text.strip() + "' on the debug console; stop reason " + vm.stopReason()
                            + "; debug console:\n" + debug.text());
                }
                Thread.sleep(5);
            }
        }

        void awaitHeartbeats(long count) throws InterruptedException {
            long deadline = System.nanoTime() + DEADLINE.toNanos();
            while (vm.heartbeats().count() < count) {
                if (vm.stopReason().isPresent() || System.nanoTime() > deadline) {
                    fail(vm.heartbeats().count() + " heartbeats, waiting for " + count + "; stop reason "
                            + vm.stopReason() + "; debug console:\n" + debug.text());
                }
                Thread.sleep(1);
            }
        }

        @Override
        public void close() {
            vm.close();
        }
    }
}
