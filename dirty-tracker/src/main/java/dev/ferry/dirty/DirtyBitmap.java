package dev.ferry.dirty;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * One bit per page, off-heap, in the layout KVM uses for its dirty log (native-endian 64-bit words,
 * little-endian on x86-64; bit {@code i % 64} of word {@code i / 64} is page {@code i}), so a KVM bitmap can
 * be ORed in word by word. Bits past {@link #pages()} in the last word are always zero.
 *
 * <p>Every operation works a word at a time and allocates nothing. Iterate with a cursor:
 * <pre>{@code
 * for (long p = bitmap.nextSetBit(0); p >= 0; p = bitmap.nextSetBit(end)) {
 *     long end = bitmap.nextClearBit(p);   // [p, end) is a run of dirty pages
 *     ...
 * }
 * }</pre>
 *
 * <p>Not thread-safe: one thread owns it (the engine). Writers on other threads mark a
 * {@link ConcurrentDirtyBitmap}, which the owner drains into this one.
 */
public final class DirtyBitmap implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment words;
    private final long pages;
    private final long wordCount;
    /** Valid bits of the last word (all ones when {@code pages} is a multiple of 64). */
    private final long lastWordMask;

    public DirtyBitmap(long pages) {
        if (pages < 0) {
            throw new IllegalArgumentException("negative page count " + pages);
        }
        this.pages = pages;
        this.wordCount = (pages + 63) >>> 6;
        this.lastWordMask = tailMask(pages);
        this.arena = Arena.ofShared();
        this.words = arena.allocate(Math.max(8, wordCount * 8), 8);
    }

    public long pages() {
        return pages;
    }

    /** The backing words, {@code ceil(pages / 64)} longs (at least one word of storage). */
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

    /** Sets word {@code index}; bits past {@link #pages()} are dropped so counts stay exact. */
    public void setWord(long index, long value) {
        words.set(JAVA_LONG, index << 3, index == wordCount - 1 ? value & lastWordMask : value);
    }

    /** Sets every page's bit (the state before a first full round). */
    public void setAll() {
        if (wordCount == 0) {
            return;
        }
        words.fill((byte) 0xff);
        setWord(wordCount - 1, -1L);
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

    /** Set pages in {@code [fromPage, fromPage + pageCount)}. */
    public long countRange(long fromPage, long pageCount) {
        checkRange(fromPage, pageCount);
        if (pageCount == 0) {
            return 0;
        }
        long end = fromPage + pageCount;
        long first = fromPage >>> 6;
        long last = (end - 1) >>> 6;
        long headMask = -1L << fromPage;
        long endMask = tailMask(end);
        if (first == last) {
            return Long.bitCount(word(first) & headMask & endMask);
        }
        long count = Long.bitCount(word(first) & headMask);
        for (long i = first + 1; i < last; i++) {
            count += Long.bitCount(word(i));
        }
        return count + Long.bitCount(word(last) & endMask);
    }

    /** Sets pages {@code [fromPage, fromPage + pageCount)}. */
    public void setRange(long fromPage, long pageCount) {
        applyRange(fromPage, pageCount, true);
    }

    /** Clears pages {@code [fromPage, fromPage + pageCount)}. */
    public void clearRange(long fromPage, long pageCount) {
        applyRange(fromPage, pageCount, false);
    }

    private void applyRange(long fromPage, long pageCount, boolean set) {
        checkRange(fromPage, pageCount);
        if (pageCount == 0) {
            return;
        }
        long end = fromPage + pageCount;
        long first = fromPage >>> 6;
        long last = (end - 1) >>> 6;
        for (long i = first; i <= last; i++) {
            long mask = -1L;
            if (i == first) {
                mask &= -1L << fromPage;
            }
            if (i == last) {
                mask &= tailMask(end);
            }
            long offset = i << 3;
            long word = words.get(JAVA_LONG, offset);
            words.set(JAVA_LONG, offset, set ? word | mask : word & ~mask);
        }
    }

    /** The first set page at or after {@code from}, or -1. */
    public long nextSetBit(long from) {
        if (from < 0) {
            throw new IndexOutOfBoundsException("negative page " + from);
        }
        if (from >= pages) {
            return -1;
        }
        long index = from >>> 6;
        long word = word(index) & (-1L << from);
        while (true) {
            if (word != 0) {
                return (index << 6) + Long.numberOfTrailingZeros(word);
            }
            if (++index >= wordCount) {
                return -1;
            }
            word = word(index);
        }
    }

    /**
     * The first clear page at or after {@code from}, or {@link #pages()} when there is none: for a set
     * {@code from} this is the end of the run of dirty pages that starts there.
     */
    public long nextClearBit(long from) {
        if (from < 0) {
            throw new IndexOutOfBoundsException("negative page " + from);
        }
        if (from >= pages) {
            return pages;
        }
        long index = from >>> 6;
        long word = ~word(index) & (-1L << from);
        while (true) {
            if (word != 0) {
                return Math.min(pages, (index << 6) + Long.numberOfTrailingZeros(word));
            }
            if (++index >= wordCount) {
                return pages;
            }
            word = ~word(index);
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

    /** Keeps only the bits also set in {@code other}; returns how many it cleared. Both must cover the same pages. */
    public long and(DirtyBitmap other) {
        if (other.pages != pages) {
            throw new IllegalArgumentException("bitmaps of " + pages + " and " + other.pages + " pages");
        }
        long cleared = 0;
        for (long i = 0; i < wordCount; i++) {
            long word = word(i);
            long kept = word & other.word(i);
            cleared += Long.bitCount(word ^ kept);
            setWord(i, kept);
        }
        return cleared;
    }

    /**
     * ORs a bitmap in KVM's layout covering {@code pages} pages into this one at {@code firstPage}, and
     * returns how many bits were newly set. Bits of {@code source} past {@code pages} are ignored.
     * {@code firstPage} a multiple of 64 takes the word-for-word path; any other offset works, shifted.
     */
    public long orWords(MemorySegment source, long firstPage, long pages) {
        checkRange(firstPage, pages);
        long sourceWords = (pages + 63) >>> 6;
        if (source.byteSize() < sourceWords * 8) {
            throw new IllegalArgumentException("a bitmap of " + pages + " pages needs " + sourceWords * 8
                    + " bytes, got " + source.byteSize());
        }
        long sourceTailMask = tailMask(pages);
        long base = firstPage >>> 6;
        int shift = (int) (firstPage & 63);
        long newlySet = 0;
        if (sourceWords == 0) {
            return 0;
        }
        if (shift == 0) {
            // The common case (memory slots start 64-page aligned) runs without data-dependent branches: its speed
            // must not depend on which words happened to be dirty while the JIT was watching.
            long last = sourceWords - 1;
            for (long k = 0; k < last; k++) {
                newlySet += orIntoWord(base + k, source.get(JAVA_LONG_UNALIGNED, k << 3));
            }
            return newlySet + orIntoWord(base + last, source.get(JAVA_LONG_UNALIGNED, last << 3) & sourceTailMask);
        }
        for (long k = 0; k < sourceWords; k++) {
            long bits = source.get(JAVA_LONG_UNALIGNED, k << 3);
            if (k == sourceWords - 1) {
                bits &= sourceTailMask;
            }
            newlySet += orIntoWord(base + k, bits << shift);
            long carry = bits >>> (64 - shift);
            if (carry != 0) {
                newlySet += orIntoWord(base + k + 1, carry);
            }
        }
        return newlySet;
    }

    /** ORs {@code bits} into word {@code index}; returns how many were newly set. */
    long orIntoWord(long index, long bits) {
        long offset = index << 3;
        long old = words.get(JAVA_LONG, offset);
        words.set(JAVA_LONG, offset, old | bits);
        return Long.bitCount(bits & ~old);
    }

    /**
     * Copies pages {@code [firstPage, firstPage + pages)} into {@code target} in KVM's layout, starting at
     * bit 0 of its first word (the bitmap KVM_CLEAR_DIRTY_LOG takes), and returns how many are set. Bits
     * past {@code pages} in the last target word are written as zero. {@code firstPage} a multiple of 64
     * copies word for word; any other offset works, shifted.
     */
    public long copyWords(long firstPage, long pages, MemorySegment target) {
        checkRange(firstPage, pages);
        long targetWords = (pages + 63) >>> 6;
        if (target.byteSize() < targetWords * 8) {
            throw new IllegalArgumentException("a bitmap of " + pages + " pages needs " + targetWords * 8
                    + " bytes, got " + target.byteSize());
        }
        long targetTailMask = tailMask(pages);
        long base = firstPage >>> 6;
        int shift = (int) (firstPage & 63);
        long set = 0;
        for (long k = 0; k < targetWords; k++) {
            long bits;
            if (shift == 0) {
                bits = word(base + k);
            } else {
                long next = base + k + 1 < wordCount ? word(base + k + 1) : 0;
                bits = (word(base + k) >>> shift) | (next << (64 - shift));
            }
            if (k == targetWords - 1) {
                bits &= targetTailMask;
            }
            target.set(JAVA_LONG_UNALIGNED, k << 3, bits);
            set += Long.bitCount(bits);
        }
        return set;
    }

    /** Ones in the bits of a word below {@code end % 64}, or all ones when {@code end} is a multiple of 64. */
    static long tailMask(long end) {
        int tail = (int) (end & 63);
        return tail == 0 ? -1L : (1L << tail) - 1;
    }

    private void checkPage(long page) {
        if (page < 0 || page >= pages) {
            throw new IndexOutOfBoundsException("page " + page + " outside a bitmap of " + pages + " pages");
        }
    }

    private void checkRange(long fromPage, long pageCount) {
        if (fromPage < 0 || pageCount < 0 || pageCount > pages - fromPage) {
            throw new IndexOutOfBoundsException("pages [" + fromPage + ", +" + pageCount + ") outside a bitmap of "
                    + pages + " pages");
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
