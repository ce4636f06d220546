package dev.ferry.dirty;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One bit per page, off-heap, in the layout KVM uses for its dirty log (little-endian 64-bit words,
 * bit {@code i % 64} of word {@code i / 64} is page {@code i}), so a KVM bitmap can be ORed in word by word.
 * Not thread-safe.
 */
public final class DirtyBitmap implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment words;
    private final long pages;
    private final long wordCount;

    public DirtyBitmap(long pages) {
        if (pages < 0) {
            throw new IllegalArgumentException("negative page count " + pages);
        }
        this.pages = pages;
        this.wordCount = (pages + 63) >>> 6;
        this.arena = Arena.ofShared();
        this.words = arena.allocate(Math.max(8, wordCount * 8), 8);
    }

    public long pages() {
        return pages;
    }

    /** The backing words, {@code ceil(pages / 64)} longs. */
    public MemorySegment words() {
        return words;
    }

    public long wordCount() {
        return wordCount;
    }

    public void set(long page) {
        checkPage(page);
        long offset = (page >>> 6) << 3;
        words.set(JAVA_LONG, offset, words.get(JAVA_LONG, offset) | (1L << page));
    }

    public void clear(long page) {
        checkPage(page);
        long offset = (page >>> 6) << 3;
        words.set(JAVA_LONG, offset, words.get(JAVA_LONG, offset) & ~(1L << page));
    }

    public boolean get(long page) {
        checkPage(page);
        return (words.get(JAVA_LONG, (page >>> 6) << 3) & (1L << page)) != 0;
    }

    public long word(long index) {
        return words.get(JAVA_LONG, index << 3);
    }

    public void setWord(long index, long value) {
        words.set(JAVA_LONG, index << 3, value);
    }

    /** Sets every page's bit (the state before a first full round). */
    public void setAll() {
        words.fill((byte) 0xff);
        long tail = pages & 63;
        if (tail != 0) {
            setWord(wordCount - 1, (1L << tail) - 1);
        }
    }

    public void clearAll() {
        words.fill((byte) 0);
    }

    public long count() {
        long count = 0;
        for (long i = 0; i < wordCount; i++) {
            count += Long.bitCount(word(i));
        }
        return count;
    }

    /** The first set page at or after {@code from}, or -1. Scans a word at a time, allocation-free. */
    public long nextSetBit(long from) {
        if (from >= pages) {
            return -1;
        }
        long index = from >>> 6;
        long word = word(index) & (-1L << from);
        while (true) {
            if (word != 0) {
                long page = (index << 6) + Long.numberOfTrailingZeros(word);
                return page < pages ? page : -1;
            }
            if (++index >= wordCount) {
                return -1;
            }
            word = word(index);
        }
    }

    /** ORs {@code other} into this bitmap; both must cover the same pages. */
    public void or(DirtyBitmap other) {
        if (other.pages != pages) {
            throw new IllegalArgumentException("bitmaps of " + pages + " and " + other.pages + " pages");
        }
        for (long i = 0; i < wordCount; i++) {
            setWord(i, word(i) | other.word(i));
        }
    }

    private void checkPage(long page) {
        if (page < 0 || page >= pages) {
            throw new IndexOutOfBoundsException("page " + page + " outside a bitmap of " + pages + " pages");
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
