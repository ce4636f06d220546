package dev.ferry.dirty;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvmDirtyLogTrackerTest {

    @ParameterizedTest(name = "manualProtect={0} initiallySet={1}")
    @CsvSource({"true,true", "true,false", "false,false"})
    void theFirstSyncReportsEveryPageWhateverKvmSays(boolean manualProtect, boolean initiallySet) {
        var kvm = new EmulatedDirtyLog(manualProtect, initiallySet, 100, 64, 200);
        var tracker = new KvmDirtyLogTracker(kvm);
        try (var dirty = new DirtyBitmap(364)) {
            dirty.set(5);
            tracker.start();
            assertEquals(363, tracker.sync(dirty));
            assertEquals(364, dirty.count());
            assertEquals(3, kvm.getCalls);
        }
    }

    @Test
    void slotsAreNumberedInOrderAcrossTheVm() {
        var kvm = new EmulatedDirtyLog(true, true, 100, 64, 200);
        var tracker = new KvmDirtyLogTracker(kvm);
        assertEquals(364, tracker.pageCount());
        assertEquals(164, tracker.slotFirstPage(2));
        try (var dirty = new DirtyBitmap(364)) {
            tracker.start();
            tracker.sync(dirty);
            tracker.rearm(dirty, 0, 364);
            dirty.clearAll();

            kvm.guestWrite(100);
            kvm.guestWrite(163);
            kvm.guestWrite(363);
            kvm.guestWrite(99);
            assertEquals(4, tracker.sync(dirty));
            assertEquals(List.of(99L, 100L, 163L, 363L), setPages(dirty));
        }
    }

    @Test
    void aWriteAfterRearmIsReportedByTheNextSync() {
        var kvm = new EmulatedDirtyLog(true, true, 256);
        var tracker = new KvmDirtyLogTracker(kvm);
        try (var dirty = new DirtyBitmap(256)) {
            tracker.start();
            tracker.sync(dirty);
            tracker.rearm(dirty, 0, 256);
            long copied = kvm.contents(70);
            dirty.clearAll();
            kvm.guestWrite(70);

            assertEquals(1, tracker.sync(dirty));
            assertTrue(dirty.get(70));
            assertTrue(kvm.contents(70) != copied);
        }
    }

    /** Why the engine must rearm before it reads: the emulated KVM loses a write when the order is reversed. */
    @Test
    void readingBeforeRearmWouldMissAWriteBetweenTheReadAndTheRearm() {
        var kvm = new EmulatedDirtyLog(true, true, 256);
        var tracker = new KvmDirtyLogTracker(kvm);
        try (var dirty = new DirtyBitmap(256)) {
            tracker.start();
            tracker.sync(dirty);
            long copied = kvm.contents(70);
            kvm.guestWrite(70);
            tracker.rearm(dirty, 0, 256);
            dirty.clearAll();

            assertEquals(0, tracker.sync(dirty));
            assertTrue(kvm.contents(70) != copied, "the copy is stale and nothing reports it");
        }
    }

    @Test
    void writesBetweenSyncAndRearmAreNotLost() {
        var kvm = new EmulatedDirtyLog(true, true, 256);
        var tracker = new KvmDirtyLogTracker(kvm);
        try (var dirty = new DirtyBitmap(256)) {
            tracker.start();
            tracker.sync(dirty);
            tracker.rearm(dirty, 0, 256);
            dirty.clearAll();

            kvm.guestWrite(10);
            tracker.sync(dirty);
            kvm.guestWrite(10);   // reported page, written again: the read after rearm sees it
            kvm.guestWrite(20);   // clean at sync, written before rearm: KVM keeps its bit
            tracker.rearm(dirty, 0, 256);
            long read10 = kvm.contents(10);
            dirty.clearAll();

            assertEquals(1, tracker.sync(dirty));
            assertEquals(List.of(20L), setPages(dirty));
            assertEquals(kvm.contents(10), read10);
        }
    }

    @Test
    void rearmClearsExactlyTheSetBitsOfItsRange() {
        var kvm = new EmulatedDirtyLog(true, true, 1000);
        var tracker = new KvmDirtyLogTracker(kvm);
        try (var dirty = new DirtyBitmap(1000)) {
            tracker.start();
            tracker.sync(dirty);
            tracker.rearm(dirty, 0, 1000);
            dirty.clearAll();
            kvm.clearCalls.clear();
            for (long p : new long[] {5, 15, 99, 100, 399, 400, 999}) {
                kvm.guestWrite(p);
            }
            tracker.sync(dirty);

            tracker.rearm(dirty, 15, 385);

            assertEquals(1, kvm.clearCalls.size());
            var call = kvm.clearCalls.getFirst();
            assertEquals(0, call.firstPage());
            assertEquals(448, call.pageCount());
            assertEquals(BitSet.valueOf(new long[] {1L << 15, 1L << (99 - 64) | 1L << (100 - 64), 0, 0, 0, 0, 1L << (399 - 384)}),
                    call.bits());
            dirty.clearAll();
            assertEquals(List.of(5L, 400L, 999L), setPages(syncedInto(tracker, dirty)));
            assertEquals(4, tracker.stats().pagesRearmed() - 1000);
        }
    }

    @Test
    void rearmSplitsIntoAlignedChunksThatEndAtTheSlotsEnd() {
        var kvm = new EmulatedDirtyLog(true, true, 1000, 300);
        var tracker = new KvmDirtyLogTracker(kvm, 128);
        try (var dirty = new DirtyBitmap(1300)) {
            tracker.start();
            tracker.sync(dirty);

            tracker.rearm(dirty, 0, 1300);

            var calls = kvm.clearCalls.stream().map(c -> c.slot() + ":" + c.firstPage() + "+" + c.pageCount()).toList();
            assertEquals(List.of("0:0+128", "0:128+128", "0:256+128", "0:384+128", "0:512+128", "0:640+128",
                    "0:768+128", "0:896+104", "1:0+128", "1:128+128", "1:256+44"), calls);
            assertEquals(1300, kvm.clearCalls.stream().mapToInt(c -> c.bits().cardinality()).sum());
            assertEquals(new TrackerStats(1, 1300, 0, 2, tracker.stats().getDirtyLogNanos(), 11,
                    tracker.stats().clearDirtyLogNanos(), 1300), tracker.stats());
        }
    }

    @Test
    void aRangeStartingMidChunkIsAlignedDownAndMasked() {
        var kvm = new EmulatedDirtyLog(true, true, 1000);
        var tracker = new KvmDirtyLogTracker(kvm, 128);
        try (var dirty = new DirtyBitmap(1000)) {
            tracker.start();
            tracker.sync(dirty);

            tracker.rearm(dirty, 100, 300);

            var calls = kvm.clearCalls.stream().map(c -> c.firstPage() + "+" + c.pageCount()).toList();
            assertEquals(List.of("64+128", "192+128", "320+128"), calls);
            BitSet cleared = new BitSet();
            kvm.clearCalls.forEach(c -> c.bits().stream().forEach(b -> cleared.set((int) c.firstPage() + b)));
            BitSet expected = new BitSet();
            expected.set(100, 400);
            assertEquals(expected, cleared);
        }
    }

    @Test
    void aChunkWithNoSetBitsMakesNoCall() {
        var kvm = new EmulatedDirtyLog(true, true, 1000);
        var tracker = new KvmDirtyLogTracker(kvm, 128);
        try (var dirty = new DirtyBitmap(1000)) {
            tracker.start();
            tracker.sync(dirty);
            dirty.clearAll();
            dirty.set(700);

            tracker.rearm(dirty, 0, 1000);

            assertEquals(1, kvm.clearCalls.size());
            assertEquals(640, kvm.clearCalls.getFirst().firstPage());
        }
    }

    @Test
    void withoutManualProtectGetClearsAndRearmCallsNothing() {
        var kvm = new EmulatedDirtyLog(false, false, 256);
        var tracker = new KvmDirtyLogTracker(kvm);
        try (var dirty = new DirtyBitmap(256)) {
            tracker.start();
            tracker.sync(dirty);
            tracker.rearm(dirty, 0, 256);
            dirty.clearAll();
            kvm.guestWrite(3);

            assertEquals(1, tracker.sync(dirty));
            dirty.clearAll();
            assertEquals(0, tracker.sync(dirty));
            assertTrue(kvm.clearCalls.isEmpty());
        }
    }

    @Test
    void hostWritesAreMergedIntoTheSync() {
        var kvm = new EmulatedDirtyLog(true, true, 100, 100);
        var tracker = new KvmDirtyLogTracker(kvm);
        try (var dirty = new DirtyBitmap(200)) {
            tracker.start();
            tracker.sync(dirty);
            tracker.rearm(dirty, 0, 200);
            dirty.clearAll();

            kvm.hostWrite(150);
            tracker.recordHostWrite(150);
            kvm.guestWrite(7);
            kvm.hostWrite(7);
            tracker.recordHostWrite(7);

            assertEquals(2, tracker.sync(dirty));
            assertEquals(List.of(7L, 150L), setPages(dirty));
            assertEquals(1, tracker.stats().hostPagesSynced());
            tracker.rearm(dirty, 0, 200);
            dirty.clearAll();
            assertEquals(0, tracker.sync(dirty), "drained marks are gone");
        }
    }

    @Test
    void stopTurnsLoggingOffAndStartAgainReportsEverything() {
        var kvm = new EmulatedDirtyLog(true, false, 64, 64);
        var tracker = new KvmDirtyLogTracker(kvm);
        try (var dirty = new DirtyBitmap(128)) {
            tracker.start();
            assertTrue(kvm.logging(0) && kvm.logging(1));
            assertThrows(IllegalStateException.class, tracker::start);
            tracker.sync(dirty);

            tracker.stop();
            tracker.stop();

            assertFalse(tracker.isTracking());
            assertFalse(kvm.logging(0) || kvm.logging(1));
            assertThrows(IllegalStateException.class, () -> tracker.sync(dirty));
            dirty.clearAll();
            tracker.start();
            assertEquals(128, tracker.sync(dirty));
            tracker.stop();
        }
    }

    @Test
    void aFailedStartTurnsLoggingOffAgain() {
        var kvm = new EmulatedDirtyLog(true, true, 64, 64, 64);
        kvm.failSetLoggingAt(2);
        var tracker = new KvmDirtyLogTracker(kvm);

        var e = assertThrows(IllegalStateException.class, tracker::start);

        assertTrue(e.getMessage().contains("slot 2"), e.getMessage());
        assertFalse(tracker.isTracking());
        assertFalse(kvm.logging(0) || kvm.logging(1) || kvm.logging(2));
    }

    @Test
    void rejectsABitmapOfAnotherSize() {
        var tracker = new KvmDirtyLogTracker(new EmulatedDirtyLog(true, true, 64));
        tracker.start();
        try (var dirty = new DirtyBitmap(65)) {
            assertThrows(IllegalArgumentException.class, () -> tracker.sync(dirty));
            assertThrows(IllegalArgumentException.class, () -> tracker.rearm(dirty, 0, 1));
        }
        assertThrows(IllegalArgumentException.class, () -> new KvmDirtyLogTracker(new EmulatedDirtyLog(true, true, 64), 100));
    }

    /**
     * A whole migration against the emulated KVM with guest and host writes at every step of the engine's
     * cycle: after the final sync with the guest stopped, the copy equals the memory.
     */
    @ParameterizedTest(name = "manualProtect={0} initiallySet={1} seed={2}")
    @CsvSource({"true,true,1", "true,false,2", "false,false,3", "true,true,4", "false,false,5", "true,true,6"})
    void aMigrationCopiesEveryWriteInTheEnd(boolean manualProtect, boolean initiallySet, long seed) {
        var kvm = new EmulatedDirtyLog(manualProtect, initiallySet, 1000, 37, 3000, 64);
        var tracker = new KvmDirtyLogTracker(kvm, 256);
        var random = new SplittableRandom(seed);
        int pages = (int) kvm.pages();
        long[] copy = new long[pages];
        Runnable writes = () -> {
            for (int i = random.nextInt(40); i > 0; i--) {
                // Hot pages as well as cold ones, so some are written again before they are sent.
                long page = random.nextBoolean() ? random.nextInt(50) + 990 : random.nextInt(pages);
                if (random.nextInt(8) == 0) {
                    kvm.hostWrite(page);
                    tracker.recordHostWrite(page);
                } else {
                    kvm.guestWrite(page);
                }
            }
        };
        try (var dirty = new DirtyBitmap(pages)) {
            tracker.start();
            for (int round = 0; round < 6; round++) {
                sendRound(tracker, dirty, copy, kvm, random, writes);
            }
            sendRound(tracker, dirty, copy, kvm, random, () -> { });
            tracker.stop();
        }
        long[] memory = new long[pages];
        for (int p = 0; p < pages; p++) {
            memory[p] = kvm.contents(p);
        }
        assertArrayEquals(memory, copy);
    }

    private static void sendRound(KvmDirtyLogTracker tracker, DirtyBitmap dirty, long[] copy, EmulatedDirtyLog kvm,
                                  SplittableRandom random, Runnable writes) {
        writes.run();
        tracker.sync(dirty);
        writes.run();
        long from = 0;
        while ((from = dirty.nextSetBit(from)) >= 0) {
            long count = Math.min(1 + random.nextInt(300), dirty.pages() - from);
            tracker.rearm(dirty, from, count);
            writes.run();
            for (long p = dirty.nextSetBit(from); p >= 0 && p < from + count; p = dirty.nextSetBit(p + 1)) {
                copy[(int) p] = kvm.contents(p);
            }
            dirty.clearRange(from, count);
            writes.run();
            from += count;
        }
    }

    private static DirtyBitmap syncedInto(DirtyTracker tracker, DirtyBitmap dirty) {
        tracker.sync(dirty);
        return dirty;
    }

    static List<Long> setPages(DirtyBitmap bitmap) {
        var pages = new java.util.ArrayList<Long>();
        for (long p = bitmap.nextSetBit(0); p >= 0; p = bitmap.nextSetBit(p + 1)) {
            pages.add(p);
        }
        return pages;
    }
}
