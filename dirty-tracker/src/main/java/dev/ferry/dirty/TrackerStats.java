package dev.ferry.dirty;

/**
 * What a tracker has done since it was built: for progress displays and round reports.
 *
 * @param syncs              {@link DirtyTracker#sync} calls
 * @param pagesSynced        bits those syncs newly set (the sum of their return values)
 * @param hostPagesSynced    of {@code pagesSynced}, bits set by host-write marks alone (the guest did not also write)
 * @param getDirtyLogCalls   KVM_GET_DIRTY_LOG calls
 * @param getDirtyLogNanos   time spent in them
 * @param clearDirtyLogCalls KVM_CLEAR_DIRTY_LOG calls
 * @param clearDirtyLogNanos time spent in them
 * @param pagesRearmed       pages those calls re-protected (the set bits they were given)
 */
public record TrackerStats(long syncs, long pagesSynced, long hostPagesSynced, long getDirtyLogCalls,
                           long getDirtyLogNanos, long clearDirtyLogCalls, long clearDirtyLogNanos,
                           long pagesRearmed) {
    public static final TrackerStats NONE = new TrackerStats(0, 0, 0, 0, 0, 0, 0, 0);
}
