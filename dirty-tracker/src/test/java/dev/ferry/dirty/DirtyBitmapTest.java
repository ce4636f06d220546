package dev.ferry.dirty;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static dev.ferry.dirty.KvmDirtyLogTrackerTest.setPages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DirtyBitmapTest {

    @Test
    void anEmptyBitmapHasNoPages() {
        try (var bitmap = new DirtyBitmap(0)) {
            bitmap.setAll();
            assertEquals(0, bitmap.count());
            assertEquals(0, bitmap.wordCount());
            assertEquals(-1, bitmap.nextSetBit(0));
            assertEquals(0, bitmap.nextClearBit(0));
            assertEquals(0, bitmap.countRange(0, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> bitmap.set(0));
            assertThrows(IndexOutOfBoundsException.class, () -> bitmap.countRange(0, 1));
        }
    }

    @Test
    void wordEdgesAndTheLastPageOfAnOddSize() {
        try (var bitmap = new DirtyBitmap(130)) {
            for (long p : new long[] {0, 63, 64, 127, 128, 129}) {
                bitmap.set(p);
            }
            assertEquals(List.of(0L, 63L, 64L, 127L, 128L, 129L), setPages(bitmap));
            assertEquals(6, bitmap.count());
            assertEquals(3, bitmap.word(2));
            assertTrue(bitmap.get(129));
            assertFalse(bitmap.get(1));
            bitmap.clear(63);
            bitmap.clear(129);
            assertEquals(List.of(0L, 64L, 127L, 128L), setPages(bitmap));
            assertThrows(IndexOutOfBoundsException.class, () -> bitmap.set(130));
            assertThrows(IndexOutOfBoundsException.class, () -> bitmap.get(-1));
        }
    }

    @Test
    void bitsPastTheLastPageNeverCount() {
        try (var bitmap = new DirtyBitmap(70)) {
            bitmap.setAll();
            assertEquals(70, bitmap.count());
            assertEquals(0x3f, bitmap.word(1));
            bitmap.setWord(1, -1L);
            assertEquals(70, bitmap.count());
            assertEquals(-1, bitmap.nextSetBit(70));
            assertEquals(70, bitmap.nextClearBit(0));
        }
    }

    @Test
    void runsOfSetPages() {
        try (var bitmap = new DirtyBitmap(300)) {
            bitmap.setRange(10, 5);
            bitmap.setRange(60, 80);
            bitmap.setRange(290, 10);
            var runs = new StringBuilder();
            for (long p = bitmap.nextSetBit(0); p >= 0; ) {
                long end = bitmap.nextClearBit(p);
                runs.append(p).append('-').append(end).append(' ');
                p = end < bitmap.pages() ? bitmap.nextSetBit(end) : -1;
            }
            assertEquals("10-15 60-140 290-300 ", runs.toString());
        }
    }

    @Test
    void rangeOperationsMatchABitSet() {
        var random = new SplittableRandom(7);
        int pages = 1000;
        try (var bitmap = new DirtyBitmap(pages)) {
            BitSet reference = new BitSet();
            for (int i = 0; i < 2000; i++) {
                int from = random.nextInt(pages + 1);
                int count = random.nextInt(pages - from + 1);
                switch (random.nextInt(4)) {
                    case 0 -> {
                        bitmap.setRange(from, count);
                        reference.set(from, from + count);
                    }
                    case 1 -> {
                        bitmap.clearRange(from, count);
                        reference.clear(from, from + count);
                    }
                    case 2 -> assertEquals(reference.get(from, from + count).cardinality(), bitmap.countRange(from, count),
                            "countRange(" + from + ", " + count + ")");
                    default -> {
                        int expectedSet = reference.nextSetBit(from);
                        assertEquals(expectedSet < 0 ? -1 : expectedSet, bitmap.nextSetBit(from));
                        assertEquals(Math.min(pages, reference.nextClearBit(from)), bitmap.nextClearBit(from));
                    }
                }
                assertEquals(reference.cardinality(), bitmap.count());
            }
        }
    }

    @Test
    void nextSetBitOverSparseAndDenseBitmaps() {
        int pages = 1 << 20;
        try (var sparse = new DirtyBitmap(pages); var dense = new DirtyBitmap(pages)) {
            for (long p = 999; p < pages; p += 9973) {
                sparse.set(p);
            }
            dense.setAll();
            dense.clear(500_000);
            long expected = 999;
            long seen = 0;
            for (long p = sparse.nextSetBit(0); p >= 0; p = sparse.nextSetBit(p + 1)) {
                assertEquals(expected, p);
                expected += 9973;
                seen++;
            }
            assertEquals(sparse.count(), seen);
            seen = 0;
            long previous = -1;
            for (long p = dense.nextSetBit(0); p >= 0; p = dense.nextSetBit(p + 1)) {
                assertEquals(previous == 499_999 ? 500_001 : previous + 1, p);
                previous = p;
                seen++;
            }
            assertEquals(pages - 1, seen);
            assertEquals(pages - 1, previous);
        }
    }

    @Test
    void orWordsAtAlignedAndUnalignedOffsetsMatchesABitSet() {
        var random = new SplittableRandom(11);
        try (var arena = Arena.ofConfined()) {
            for (long offset : new long[] {0, 64, 128, 3, 70, 127, 500}) {
                for (long sourcePages : new long[] {1, 63, 64, 65, 200, 500}) {
                    if (offset + sourcePages > 1000) {
                        continue;
                    }
                    try (var bitmap = new DirtyBitmap(1000)) {
                        BitSet reference = new BitSet();
                        for (int i = 0; i < 100; i++) {
                            int p = random.nextInt(1000);
                            bitmap.set(p);
                            reference.set(p);
                        }
                        long words = (sourcePages + 63) / 64;
                        MemorySegment source = arena.allocate(words * 8 + 1).asSlice(1);   // unaligned on purpose
                        for (long k = 0; k < words; k++) {
                            // Every bit random, including those past the source's pages, which must be ignored.
                            source.set(JAVA_LONG_UNALIGNED, k * 8, random.nextLong());
                        }
                        int before = reference.cardinality();
                        for (long p = 0; p < sourcePages; p++) {
                            if ((source.get(JAVA_LONG_UNALIGNED, (p / 64) * 8) & (1L << p)) != 0) {
                                reference.set((int) (offset + p));
                            }
                        }

                        long newlySet = bitmap.orWords(source, offset, sourcePages);

                        String at = "offset " + offset + ", " + sourcePages + " pages";
                        assertEquals(reference.cardinality() - before, newlySet, at);
                        assertEquals(reference.cardinality(), bitmap.count(), at);
                        for (int p = 0; p < 1000; p++) {
                            assertEquals(reference.get(p), bitmap.get(p), at + ", page " + p);
                        }
                    }
                }
            }
        }
    }

    @Test
    void orWordsRejectsARangeOutsideTheBitmapOrAShortSource() {
        try (var bitmap = new DirtyBitmap(128); var arena = Arena.ofConfined()) {
            assertThrows(IndexOutOfBoundsException.class, () -> bitmap.orWords(arena.allocate(16), 64, 65));
            assertThrows(IllegalArgumentException.class, () -> bitmap.orWords(arena.allocate(8), 0, 65));
        }
    }

    @Test
    void copyWordsAtAlignedAndUnalignedOffsetsZeroesTheTail() {
        var random = new SplittableRandom(13);
        try (var bitmap = new DirtyBitmap(1000); var arena = Arena.ofConfined()) {
            for (int i = 0; i < 400; i++) {
                bitmap.set(random.nextInt(1000));
            }
            for (long first : new long[] {0, 64, 1, 63, 65, 900, 936}) {
                for (long count : new long[] {0, 1, 64, 100, 64 * 1024}) {
                    long n = Math.min(count, 1000 - first);
                    MemorySegment target = arena.allocate(((n + 63) / 64) * 8 + 8);
                    target.fill((byte) 0xff);

                    long set = bitmap.copyWords(first, n, target);

                    assertEquals(bitmap.countRange(first, n), set);
                    for (long p = 0; p < ((n + 63) / 64) * 64; p++) {
                        boolean bit = (target.get(JAVA_LONG_UNALIGNED, (p / 64) * 8) & (1L << p)) != 0;
                        assertEquals(p < n && bitmap.get(first + p), bit, "first " + first + ", bit " + p);
                    }
                }
            }
        }
    }

    @Test
    void orOfTwoBitmaps() {
        try (var a = new DirtyBitmap(100); var b = new DirtyBitmap(100); var c = new DirtyBitmap(101)) {
            a.set(1);
            b.set(99);
            a.or(b);
            assertEquals(List.of(1L, 99L), setPages(a));
            assertThrows(IllegalArgumentException.class, () -> a.or(c));
        }
    }

    @Test
    void andKeepsTheCommonBitsAndCountsTheOnesItDropped() {
        try (var bitmap = new DirtyBitmap(200); var mask = new DirtyBitmap(200)) {
            bitmap.setAll();
            for (long p : new long[] {0, 64, 130, 199}) {
                mask.set(p);
            }
            assertEquals(196, bitmap.and(mask));
            assertEquals(List.of(0L, 64L, 130L, 199L), setPages(bitmap));
            assertEquals(0, bitmap.and(mask), "nothing more to drop");
            try (var other = new DirtyBitmap(100)) {
                assertThrows(IllegalArgumentException.class, () -> bitmap.and(other));
            }
        }
    }

    @Test
    void orWordsOfNoPagesSetsNothing() {
        try (var bitmap = new DirtyBitmap(128); Arena arena = Arena.ofConfined()) {
            MemorySegment source = arena.allocate(8);
            source.set(JAVA_LONG_UNALIGNED, 0, -1L);
            assertEquals(0, bitmap.orWords(source, 0, 0));
            assertEquals(0, bitmap.orWords(source, 64, 0));
            assertEquals(0, bitmap.count());
        }
    }
}
