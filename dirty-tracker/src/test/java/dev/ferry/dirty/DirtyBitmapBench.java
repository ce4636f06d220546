package dev.ferry.dirty;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;

/**
 * Prints how fast the engine's bitmap operations cover a 16 GiB VM (4 Mi pages of 4 KiB), in GiB of guest
 * memory per second. Not a test: run it by hand,
 * {@code java -cp dirty-tracker/target/classes:dirty-tracker/target/test-classes dev.ferry.dirty.DirtyBitmapBench}.
 */
public final class DirtyBitmapBench {
    private static final long PAGES = 4L << 20;
    private static final double GIB = PAGES * 4096.0 / (1L << 30);
    private static final int REPEATS = Integer.getInteger("repeats", 200);
    private static long sink;

    public static void main(String[] args) {
        System.out.printf("bitmap of %d pages = %.0f GiB of guest memory; best of %d runs%n", PAGES, GIB, REPEATS);
        try (var bitmap = new DirtyBitmap(PAGES); var arena = Arena.ofConfined()) {
            for (double density : new double[] {0.0, 0.001, 0.01, 0.1, 0.5, 1.0}) {
                fill(bitmap, density);
                String label = String.format("density %5.1f%% (%d set)", density * 100, bitmap.count());
                report(label + " nextSetBit loop", () -> {
                    long n = 0;
                    for (long p = bitmap.nextSetBit(0); p >= 0; p = bitmap.nextSetBit(p + 1)) {
                        n++;
                    }
                    return n;
                });
                report(label + " runs (nextSetBit/nextClearBit)", () -> {
                    long runs = 0;
                    for (long p = bitmap.nextSetBit(0); p >= 0; ) {
                        long end = bitmap.nextClearBit(p);
                        runs++;
                        p = end < PAGES ? bitmap.nextSetBit(end) : -1;
                    }
                    return runs;
                });
            }
            report("count()", bitmap::count);

            MemorySegment kvm = arena.allocate(PAGES / 8, 8);
            kvm.fill((byte) 0x55);
            report("orWords of a KVM bitmap, aligned", () -> {
                bitmap.clearAll();
                return bitmap.orWords(kvm, 0, PAGES);
            });
            try (var smaller = new DirtyBitmap(PAGES + 1)) {
                report("orWords of a KVM bitmap, at page 1", () -> {
                    smaller.clearAll();
                    return smaller.orWords(kvm, 1, PAGES);
                });
            }
            MemorySegment chunk = arena.allocate(PAGES / 8, 8);
            report("copyWords (CLEAR bitmaps), aligned", () -> bitmap.copyWords(0, PAGES, chunk));

            var marks = new ConcurrentDirtyBitmap(PAGES);
            report("ConcurrentDirtyBitmap.drainInto, empty", () -> marks.drainInto(bitmap));
            report("ConcurrentDirtyBitmap.drainInto, every page marked", () -> {
                marks.markAll();
                return marks.drainInto(bitmap);
            });
            var random = new SplittableRandom(1);
            long[] targets = random.longs(1 << 20, 0, PAGES).toArray();
            long best = Long.MAX_VALUE;
            for (int r = 0; r < REPEATS; r++) {
                long t0 = System.nanoTime();
                for (long page : targets) {
                    marks.mark(page);
                }
                best = Math.min(best, System.nanoTime() - t0);
                marks.clear();
            }
            System.out.printf("%-60s %8.2f ns per mark (random pages, one thread)%n", "ConcurrentDirtyBitmap.mark",
                    best / (double) targets.length);
            System.out.printf("%-60s %8.2f ns per mark (two threads, the same 256 pages)%n",
                    "ConcurrentDirtyBitmap.mark, contended", contendedMarkNanos(marks));
        }
        if (sink == 42) {
            System.out.println();
        }
    }

    /** Two threads hammering the same four words: the worst case for the atomic OR. */
    private static double contendedMarkNanos(ConcurrentDirtyBitmap marks) {
        int marksPerThread = 2_000_000;
        double best = Double.MAX_VALUE;
        for (int r = 0; r < 10; r++) {
            Thread other = Thread.ofPlatform().start(() -> markHotPages(marks, marksPerThread, 1));
            long t0 = System.nanoTime();
            markHotPages(marks, marksPerThread, 2);
            try {
                other.join();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            best = Math.min(best, (System.nanoTime() - t0) / (double) marksPerThread);
        }
        return best;
    }

    private static void markHotPages(ConcurrentDirtyBitmap marks, int count, long seed) {
        var random = new SplittableRandom(seed);
        for (int i = 0; i < count; i++) {
            marks.mark(random.nextInt(256));
        }
    }

    private static void fill(DirtyBitmap bitmap, double density) {
        bitmap.clearAll();
        if (density >= 1.0) {
            bitmap.setAll();
            return;
        }
        var random = new SplittableRandom(42);
        for (long p = 0; p < PAGES; p++) {
            if (random.nextDouble() < density) {
                bitmap.set(p);
            }
        }
    }

    private static void report(String what, LongSupplier operation) {
        long best = Long.MAX_VALUE;
        for (int r = 0; r < REPEATS; r++) {
            long t0 = System.nanoTime();
            sink += operation.getAsLong();
            best = Math.min(best, System.nanoTime() - t0);
        }
        System.out.printf("%-60s %8.3f ms %10.1f GiB/s%n", what, best / 1e6, GIB / (best / 1e9));
    }
}
