package dev.ferry.dirty;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongConsumer;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Writer threads write "guest memory" and mark each page after writing it while the engine syncs, reads
 * and clears in a loop: after the writers stop and a final sync, the engine's copy must equal the memory,
 * so no mark was lost and no marked write was invisible to the engine's read.
 */
class ConcurrentWritersTest {
    private static final int PAGES = 4096;
    private static final int WRITERS = 2;
    private static final int WRITES_PER_WRITER = 200_000;

    @Test
    void softwareTrackerLosesNoWrite() throws InterruptedException {
        var tracker = new SoftwareDirtyTracker(PAGES);
        runMigration(tracker, tracker::markDirty);
    }

    @Test
    void kvmTrackerLosesNoHostWrite() throws InterruptedException {
        var tracker = new KvmDirtyLogTracker(new EmulatedDirtyLog(true, true, 1000, 3096), 512);
        runMigration(tracker, tracker::recordHostWrite);
    }

    private static void runMigration(DirtyTracker tracker, LongConsumer mark) throws InterruptedException {
        try (var arena = Arena.ofShared(); var dirty = new DirtyBitmap(PAGES)) {
            MemorySegment memory = arena.allocate(PAGES * 8L, 8);
            long[] copy = new long[PAGES];
            var go = new CountDownLatch(1);
            var done = new CountDownLatch(WRITERS);
            var failure = new AtomicBoolean();
            tracker.start();
            for (int w = 0; w < WRITERS; w++) {
                int writer = w;
                Thread.ofPlatform().name("writer-" + w).start(() -> {
                    try {
                        go.await();
                        var random = new SplittableRandom(writer);
                        for (long value = 1; value <= WRITES_PER_WRITER; value++) {
                            // Writers own alternate pages, so they contend on every word but never on a page.
                            long page = random.nextInt(PAGES / WRITERS) * WRITERS + writer;
                            memory.set(JAVA_LONG, page * 8, value);
                            mark.accept(page);
                        }
                    } catch (Throwable t) {
                        failure.set(true);
                    } finally {
                        done.countDown();
                    }
                });
            }
            go.countDown();
            int syncsWhileWriting = 0;
            while (done.getCount() > 0) {
                copyDirtyPages(tracker, dirty, memory, copy);
                syncsWhileWriting++;
            }
            done.await();
            copyDirtyPages(tracker, dirty, memory, copy);
            tracker.stop();

            assertTrue(!failure.get(), "a writer failed");
            assertTrue(syncsWhileWriting > 1, "the engine synced while writers ran");
            long written = 0;
            for (int p = 0; p < PAGES; p++) {
                assertEquals(memory.get(JAVA_LONG, p * 8L), copy[p], "page " + p);
                written += copy[p] != 0 ? 1 : 0;
            }
            assertEquals(PAGES, written, "every page was written and its latest value copied");
        }
    }

    private static void copyDirtyPages(DirtyTracker tracker, DirtyBitmap dirty, MemorySegment memory, long[] copy) {
        tracker.sync(dirty);
        tracker.rearm(dirty, 0, PAGES);
        for (long p = dirty.nextSetBit(0); p >= 0; p = dirty.nextSetBit(p + 1)) {
            copy[(int) p] = memory.get(JAVA_LONG, p * 8);
        }
        dirty.clearAll();
    }
}
