package dev.ferry.simulator;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.dirty.DirtyTracker;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Software dirty tracking for the simulated VM until dirty-tracker's SoftwareDirtyTracker is available:
 * writers set a page's bit after writing it; {@link #sync} takes and clears the bits word by word, so a
 * write that lands after its word was taken is reported by the next sync.
 */
final class PageWriteTracker implements DirtyTracker {
    private final long pages;
    private final AtomicLongArray words;
    private volatile boolean tracking;
    private volatile boolean firstSync;

    PageWriteTracker(long pages) {
        this.pages = pages;
        this.words = new AtomicLongArray(Math.toIntExact((pages + 63) >>> 6));
    }

    /** Thread-safe; call after the write, so a sync that sees the bit also sees the write. */
    void markDirty(long page) {
        if (tracking) {
            int index = (int) (page >>> 6);
            long bit = 1L << page;
            if ((words.getPlain(index) & bit) == 0) {
                words.getAndAccumulate(index, bit, (w, b) -> w | b);
            }
        }
    }

    @Override
    public long pageCount() {
        return pages;
    }

    @Override
    public synchronized void start() {
        for (int i = 0; i < words.length(); i++) {
            words.set(i, 0);
        }
        firstSync = true;
        tracking = true;
    }

    @Override
    public synchronized void stop() {
        tracking = false;
    }

    @Override
    public boolean isTracking() {
        return tracking;
    }

    @Override
    public synchronized long sync(DirtyBitmap dirty) {
        if (dirty.pages() != pages) {
            throw new IllegalArgumentException("bitmap of " + dirty.pages() + " pages for a VM of " + pages);
        }
        boolean all = firstSync;
        firstSync = false;
        long added = 0;
        long tail = pages & 63;
        for (int i = 0; i < words.length(); i++) {
            long taken = words.getAndSet(i, 0);
            if (all) {
                taken = (i == words.length() - 1 && tail != 0) ? (1L << tail) - 1 : -1L;
            }
            if (taken != 0) {
                long before = dirty.word(i);
                dirty.setWord(i, before | taken);
                added += Long.bitCount(taken & ~before);
            }
        }
        return added;
    }

    @Override
    public void rearm(DirtyBitmap pagesToRearm, long fromPage, long pageCount) {
        // sync already cleared what it reported: every later write is caught by the next sync.
    }

    @Override
    public void recordHostWrite(long page) {
        if (page < 0 || page >= pages) {
            throw new IndexOutOfBoundsException("page " + page + " outside a VM of " + pages + " pages");
        }
        markDirty(page);
    }
}
