package dev.ferry.dirty;

/**
 * Tracks which guest pages changed. Pages are numbered across all of a VM's RAM regions in order
 * (region 0's pages first), so one {@link DirtyBitmap} covers the whole VM.
 *
 * <p>The engine's cycle: {@link #start()} when a migration starts; each round {@link #sync} the pages
 * dirtied since the previous sync into a bitmap; just before reading a chunk of pages to send them,
 * {@link #rearm} that chunk so writes that land after the read are caught by the next sync; {@link #stop()}
 * when the migration ends either way.
 */
public interface DirtyTracker {
    /** Pages covered, across all regions. */
    long pageCount();

    /** Begins tracking. Until the first {@link #sync}, every page counts as dirty. */
    void start();

    /** Ends tracking and releases what it holds. Idempotent. */
    void stop();

    boolean isTracking();

    /**
     * ORs into {@code dirty} every page written since the previous sync (guest writes and the VMM's own
     * writes) and returns how many bits this call set that were not set before.
     */
    long sync(DirtyBitmap dirty);

    /**
     * Re-protects pages {@code [fromPage, fromPage + pageCount)} whose bits are set in {@code pages}, so
     * writes after this call show up in the next {@link #sync}. Call it before reading those pages.
     */
    void rearm(DirtyBitmap pages, long fromPage, long pageCount);

    /**
     * Records a write that did not come from the guest (a device or loader writing guest memory). Thread-safe
     * and cheap; call it after the write, never before (see {@link ConcurrentDirtyBitmap}).
     */
    void recordHostWrite(long page);

    /** Counters since the tracker was built; {@link TrackerStats#NONE} for a tracker that keeps none. */
    default TrackerStats stats() {
        return TrackerStats.NONE;
    }
}
