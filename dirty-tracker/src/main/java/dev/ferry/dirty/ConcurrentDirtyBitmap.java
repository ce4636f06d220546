package dev.ferry.dirty;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A dirty bitmap that any number of writer threads mark while one owner thread drains it into a
 * {@link DirtyBitmap}. Marks are atomic ORs on the word ({@code getAndBitwiseOr}); a drain takes each
 * non-zero word with an atomic swap to zero ({@code getAndSet}), so a mark lands either in this drain or in
 * the next one, never in neither.
 *
 * <p>Ordering: a writer marks a page <em>after</em> writing it. Both the mark and the drain's swap are
 * volatile accesses to the same word, so when a drain takes a mark, everything the writer wrote before
 * marking happens-before everything the owner does after the drain (reading the page to send it). A write
 * whose mark the drain did not take is marked again afterwards, so the next drain reports it. Marking before
 * writing would lose a write: the drain could take the mark and the owner read the page before the write.
 *
 * <p>The memory is freed by the garbage collector, not by a close, so a late mark from a device thread can
 * never touch freed memory.
 */
public final class ConcurrentDirtyBitmap {
    private static final VarHandle WORD = JAVA_LONG.varHandle();

    private final MemorySegment words;
    private final long pages;
    private final long wordCount;
    private final long lastWordMask;

    public ConcurrentDirtyBitmap(long pages) {
        if (pages < 0) {
            throw new IllegalArgumentException("negative page count " + pages);
        }
        this.pages = pages;
        this.wordCount = (pages + 63) >>> 6;
        this.lastWordMask = DirtyBitmap.tailMask(pages);
        this.words = Arena.ofAuto().allocate(Math.max(8, wordCount * 8), 8);
    }

    public long pages() {
        return pages;
    }

    /** Marks {@code page} dirty from any thread; true when it was not marked yet. Call after the write. */
    public boolean mark(long page) {
        if (page < 0 || page >= pages) {
            throw new IndexOutOfBoundsException("page " + page + " outside a bitmap of " + pages + " pages");
        }
        long bit = 1L << page;
        long old = (long) WORD.getAndBitwiseOr(words, (page >>> 6) << 3, bit);
        return (old & bit) == 0;
    }

    /** Marks every page dirty, atomically per word. */
    public void markAll() {
        for (long i = 0; i < wordCount; i++) {
            long bits = i == wordCount - 1 ? lastWordMask : -1L;
            WORD.getAndBitwiseOr(words, i << 3, bits);
        }
    }

    public boolean isMarked(long page) {
        if (page < 0 || page >= pages) {
            throw new IndexOutOfBoundsException("page " + page + " outside a bitmap of " + pages + " pages");
        }
        return ((long) WORD.getVolatile(words, (page >>> 6) << 3) & (1L << page)) != 0;
    }

    /** Pages marked now; a snapshot that concurrent marks and drains may change at once. */
    public long count() {
        long count = 0;
        for (long i = 0; i < wordCount; i++) {
            count += Long.bitCount((long) WORD.getVolatile(words, i << 3));
        }
        return count;
    }

    /**
     * Moves every mark into {@code target} (which covers the same pages) and clears it here; returns how
     * many bits of {@code target} this set that were not set before. Only the owner of {@code target} calls it.
     */
    public long drainInto(DirtyBitmap target) {
        if (target.pages() != pages) {
            throw new IllegalArgumentException("draining " + pages + " pages into a bitmap of " + target.pages());
        }
        long newlySet = 0;
        for (long i = 0; i < wordCount; i++) {
            long offset = i << 3;
            // A plain-volatile read first keeps clean words (the common case) free of locked instructions.
            if ((long) WORD.getVolatile(words, offset) != 0) {
                long bits = (long) WORD.getAndSet(words, offset, 0L);
                newlySet += target.orIntoWord(i, bits);
            }
        }
        return newlySet;
    }

    /** Drops every mark. */
    public void clear() {
        for (long i = 0; i < wordCount; i++) {
            WORD.getAndSet(words, i << 3, 0L);
        }
    }
}
