package dev.ferry.simulator;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.dirty.DirtyTracker;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RunState;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's use of a VM, in miniature: pre-copy rounds against a running simulated VM through nothing but
 * {@link MigratableVm}, then stop-and-copy. Whatever the workload wrote while the rounds ran, the destination
 * ends up equal to the source at the stop instant, and continues from there.
 */
class PrecopyContractTest {
    @Test
    void precopyRoundsWhileWritingEndWithIdenticalMemory() throws InterruptedException {
        for (String spec : new String[] {"dirty:rate=max,pattern=hotspot:5%", "dirty:rate=64M,pattern=sequential"}) {
            try (SimulatedVm source = new SimulatedVm(8 << 20, 2, WorkloadSpec.parse(spec));
                 SimulatedVm destination = new SimulatedVmFactory().create(source.shape())) {
                source.resume();
                DirtyTracker tracker = source.dirtyTracker();
                DirtyBitmap dirty = new DirtyBitmap(tracker.pageCount());
                tracker.start();
                for (int round = 0; round < 4; round++) {
                    tracker.sync(dirty);
                    copyDirty(source, destination, tracker, dirty);
                    Thread.sleep(20);
                }
                source.pause();
                tracker.sync(dirty);
                long last = dirty.count();
                copyDirty(source, destination, tracker, dirty);
                tracker.stop();
                destination.loadState(source.saveState());

                for (int r = 0; r < source.ram().size(); r++) {
                    assertEquals(-1, source.ram().get(r).memory().mismatch(destination.ram().get(r).memory()),
                            spec + ": destination RAM differs from the source at the stop instant");
                }
                assertTrue(last > 0, spec + ": the workload wrote nothing during the rounds");

                long written = source.counters().get("pages_written");
                destination.resume();
                assertEquals(RunState.RUNNING, destination.runState());
                await().atMost(Duration.ofSeconds(5)).until(() -> destination.counters().get("pages_written") > written);
                destination.pause();
            }
        }
    }

    /** Rearm, then read and send, every page set in {@code dirty}, clearing the bits. */
    private static void copyDirty(SimulatedVm from, SimulatedVm to, DirtyTracker tracker, DirtyBitmap dirty) {
        tracker.rearm(dirty, 0, tracker.pageCount());
        for (long page = dirty.nextSetBit(0); page >= 0; page = dirty.nextSetBit(page + 1)) {
            for (int r = 0; r < from.ram().size(); r++) {
                GuestRam source = from.ram().get(r);
                if (source.contains(page)) {
                    to.ram().get(r).page(page).copyFrom(source.page(page));
                }
            }
            dirty.clear(page);
        }
    }
}
