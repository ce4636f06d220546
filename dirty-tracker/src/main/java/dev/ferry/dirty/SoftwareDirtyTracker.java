package dev.ferry.dirty;

/**
 * Dirty tracking for a simulated VM whose "guest" is Java code writing off-heap memory: the writer calls
 * {@link #markDirty} for every page it writes, from any thread, and the engine drains the marks at each
 * {@link #sync}.
 *
 * <p>The ordering contract, which is what makes it lose no write:
 * <ol>
 *   <li>A writer marks a page <em>after</em> its write to the page completes.</li>
 *   <li>The engine reads page data only <em>after</em> the sync that reported the page (and reads
 *       again whatever a later sync reports).</li>
 * </ol>
 * A mark is an atomic OR and the drain an atomic swap of the same word, so if a sync takes the mark, the
 * write before it happens-before the engine's read; if the sync misses the mark, the mark stays for the next
 * sync, which reports the page again and the engine resends it. A write racing the engine's read of a page
 * may make that read torn, but its mark comes after it and lands in a later sync, so the torn copy is
 * always overwritten. The drain itself re-arms (a mark after it lands in the emptied word), so
 * {@link #rearm} has nothing to do; the engine's final sync, with the writers stopped, leaves nothing behind.
 */
public final class SoftwareDirtyTracker implements DirtyTracker {
    private final long pageCount;
    private final ConcurrentDirtyBitmap marks;
    private volatile boolean tracking;

    // Written by the engine thread only; volatile so a status thread reads whole values.
    private volatile long syncs;
    private volatile long pagesSynced;

    public SoftwareDirtyTracker(long pageCount) {
        this.pageCount = pageCount;
        this.marks = new ConcurrentDirtyBitmap(pageCount);
    }

    /** Records a write to {@code page}; thread-safe, one atomic OR. Call it after the write. */
    public void markDirty(long page) {
        marks.mark(page);
    }

    @Override
    public long pageCount() {
        return pageCount;
    }

    /** Marks every page, so the first sync reports them all. */
    @Override
    public void start() {
        if (tracking) {
            throw new IllegalStateException("dirty tracking already started");
        }
        marks.markAll();
        tracking = true;
    }

    @Override
    public void stop() {
        tracking = false;
    }

    @Override
    public boolean isTracking() {
        return tracking;
    }

    @Override
    public long sync(DirtyBitmap dirty) {
        if (!tracking) {
            throw new IllegalStateException("sync while dirty tracking is stopped");
        }
        long newlySet = marks.drainInto(dirty);
        syncs++;
        pagesSynced += newlySet;
        return newlySet;
    }

    /** Nothing to do: draining the marks at sync already re-armed every page. */
    @Override
    public void rearm(DirtyBitmap pages, long fromPage, long pageCount) {
        if (fromPage < 0 || pageCount < 0 || pageCount > this.pageCount - fromPage) {
            throw new IndexOutOfBoundsException("rearm [" + fromPage + ", +" + pageCount + ") outside " + this.pageCount + " pages");
        }
    }

    /** The same as {@link #markDirty}: in a simulated VM the host's writes and the guest's are alike. */
    @Override
    public void recordHostWrite(long page) {
        marks.mark(page);
    }

    @Override
    public TrackerStats stats() {
        return new TrackerStats(syncs, pagesSynced, 0, 0, 0, 0, 0, 0);
    }
}
