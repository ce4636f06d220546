package dev.ferry.dirty;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * KVM's dirty log, per memory slot, behind the engine's {@link DirtyTracker}.
 *
 * <p>With {@link DirtyLogPort#manualProtect() manual protect} (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2),
 * KVM_GET_DIRTY_LOG only reports; pages stay writable until {@link #rearm} re-protects exactly the set bits
 * of the range the engine is about to read, in 64-page-aligned chunks of at most {@link #clearChunkPages()}
 * pages, one KVM_CLEAR_DIRTY_LOG each. Re-protecting just in time, rather than at sync, means a page written
 * many times during a round faults once, after the engine has read it, instead of once per sync.
 * Without manual protect, GET itself clears and re-protects the whole slot and {@link #rearm} does nothing.
 *
 * <p>The first sync after {@link #start()} reports every page, whatever KVM's bitmap says: this holds
 * whether or not the VMM enabled KVM_DIRTY_LOG_INITIALLY_SET, and with or without manual protect.
 *
 * <p>KVM logs only guest writes. The VMM's own writes to guest memory (devices, loaders) go through
 * {@link #recordHostWrite}, from any thread; each sync drains them atomically into the engine's bitmap.
 *
 * <p>{@link #start}, {@link #sync}, {@link #rearm} and {@link #stop} are the engine's: one thread at a time.
 * {@link #recordHostWrite}, {@link #isTracking} and {@link #stats} may be called from any thread.
 */
public final class KvmDirtyLogTracker implements DirtyTracker {
    /** Pages per KVM_CLEAR_DIRTY_LOG: 64 Ki pages, 256 MiB of guest memory, an 8 KiB bitmap. */
    public static final long DEFAULT_CLEAR_CHUNK_PAGES = 64 * 1024;

    private final DirtyLogPort port;
    private final int slots;
    private final long[] slotFirstPage;
    private final long[] slotPages;
    private final long pageCount;
    private final long maxSlotPages;
    private final long clearChunkPages;
    /** Read at each start: the VMM may enable the capability after building the tracker. */
    private boolean manualProtect;
    private final ConcurrentDirtyBitmap hostWrites;

    private volatile boolean tracking;
    private boolean firstSyncPending;
    private Arena scratchArena;
    /** KVM_GET_DIRTY_LOG's target, sized for the largest slot; slots are synced one after another. */
    private MemorySegment getScratch;
    /** KVM_CLEAR_DIRTY_LOG's bitmap, one chunk. */
    private MemorySegment clearScratch;

    // Written by the engine thread only; volatile so a status thread reads whole values.
    private volatile long syncs;
    private volatile long pagesSynced;
    private volatile long hostPagesSynced;
    private volatile long getCalls;
    private volatile long getNanos;
    private volatile long clearCalls;
    private volatile long clearNanos;
    private volatile long pagesRearmed;

    public KvmDirtyLogTracker(DirtyLogPort port) {
        this(port, DEFAULT_CLEAR_CHUNK_PAGES);
    }

    /** {@code clearChunkPages}: pages per KVM_CLEAR_DIRTY_LOG, a positive multiple of 64. */
    public KvmDirtyLogTracker(DirtyLogPort port, long clearChunkPages) {
        if (clearChunkPages <= 0 || (clearChunkPages & 63) != 0) {
            throw new IllegalArgumentException("clear chunk of " + clearChunkPages + " pages is not a positive multiple of 64");
        }
        this.port = port;
        this.slots = port.slotCount();
        this.slotFirstPage = new long[slots];
        this.slotPages = new long[slots];
        long next = 0;
        long max = 0;
        for (int slot = 0; slot < slots; slot++) {
            long pages = port.slotPages(slot);
            if (pages < 0) {
                throw new IllegalArgumentException("slot " + slot + " has " + pages + " pages");
            }
            slotFirstPage[slot] = next;
            slotPages[slot] = pages;
            next = Math.addExact(next, pages);
            max = Math.max(max, pages);
        }
        this.pageCount = next;
        this.maxSlotPages = max;
        this.clearChunkPages = clearChunkPages;
        this.hostWrites = new ConcurrentDirtyBitmap(pageCount);
    }

    @Override
    public long pageCount() {
        return pageCount;
    }

    public long clearChunkPages() {
        return clearChunkPages;
    }

    /** The VM-wide number of slot {@code slot}'s first page. */
    public long slotFirstPage(int slot) {
        return slotFirstPage[slot];
    }

    @Override
    public void start() {
        if (tracking) {
            throw new IllegalStateException("dirty tracking already started");
        }
        manualProtect = port.manualProtect();
        Arena arena = Arena.ofShared();
        getScratch = arena.allocate(Math.max(8, ((maxSlotPages + 63) >>> 6) * 8), 8);
        clearScratch = arena.allocate(clearChunkPages >>> 3, 8);
        scratchArena = arena;
        int enabled = 0;
        try {
            for (; enabled < slots; enabled++) {
                port.setLogging(enabled, true);
            }
        } catch (RuntimeException e) {
            for (int slot = 0; slot < enabled; slot++) {
                try {
                    port.setLogging(slot, false);
                } catch (RuntimeException undo) {
                    e.addSuppressed(undo);
                }
            }
            scratchArena = null;
            arena.close();
            throw e;
        }
        firstSyncPending = true;
        tracking = true;
    }

    @Override
    public void stop() {
        if (!tracking) {
            return;
        }
        tracking = false;
        RuntimeException failure = null;
        for (int slot = 0; slot < slots; slot++) {
            try {
                port.setLogging(slot, false);
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        getScratch = null;
        clearScratch = null;
        scratchArena.close();
        scratchArena = null;
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public boolean isTracking() {
        return tracking;
    }

    @Override
    public long sync(DirtyBitmap dirty) {
        requireTracking("sync");
        if (dirty.pages() != pageCount) {
            throw new IllegalArgumentException("syncing " + pageCount + " pages into a bitmap of " + dirty.pages());
        }
        long newlySet = 0;
        long before = firstSyncPending ? dirty.count() : 0;
        for (int slot = 0; slot < slots; slot++) {
            if (slotPages[slot] == 0) {
                continue;
            }
            long t0 = System.nanoTime();
            port.getDirtyLog(slot, getScratch);
            getNanos += System.nanoTime() - t0;
            getCalls++;
            newlySet += dirty.orWords(getScratch, slotFirstPage[slot], slotPages[slot]);
        }
        long fromHost = hostWrites.drainInto(dirty);
        newlySet += fromHost;
        if (firstSyncPending) {
            // Nothing was protected before logging began, so every page may have changed since the last look.
            dirty.setAll();
            newlySet = pageCount - before;
            fromHost = 0;
            firstSyncPending = false;
        }
        syncs++;
        pagesSynced += newlySet;
        hostPagesSynced += fromHost;
        return newlySet;
    }

    @Override
    public void rearm(DirtyBitmap pages, long fromPage, long pageCount) {
        if (pages.pages() != this.pageCount) {
            throw new IllegalArgumentException("rearming from a bitmap of " + pages.pages() + " pages, tracking " + this.pageCount);
        }
        if (fromPage < 0 || pageCount < 0 || pageCount > this.pageCount - fromPage) {
            throw new IndexOutOfBoundsException("rearm [" + fromPage + ", +" + pageCount + ") outside " + this.pageCount + " pages");
        }
        requireTracking("rearm");
        if (!manualProtect || pageCount == 0) {
            return;
        }
        long end = fromPage + pageCount;
        for (int slot = 0; slot < slots; slot++) {
            long base = slotFirstPage[slot];
            long from = Math.max(fromPage, base);
            long to = Math.min(end, base + slotPages[slot]);
            if (from < to) {
                rearmSlot(pages, slot, from - base, to - base);
            }
        }
    }

    /** Clears the set bits of slot-relative pages {@code [from, to)}, chunk by chunk. */
    private void rearmSlot(DirtyBitmap pages, int slot, long from, long to) {
        long base = slotFirstPage[slot];
        long slotEnd = slotPages[slot];
        // KVM wants first_page 64-aligned and num_pages a multiple of 64 unless it reaches the slot's end.
        long chunkStart = from & ~63L;
        long alignedEnd = Math.min(slotEnd, (to + 63) & ~63L);
        while (chunkStart < alignedEnd) {
            long chunk = Math.min(clearChunkPages, alignedEnd - chunkStart);
            long set = pages.copyWords(base + chunkStart, chunk, clearScratch);
            // The alignment widened the range: bits outside [from, to) are not ours to clear.
            if (chunkStart < from) {
                set -= maskWord(0, -1L << from);
            }
            long chunkEnd = chunkStart + chunk;
            if (chunkEnd > to) {
                set -= maskWord((to - 1 - chunkStart) >>> 6, DirtyBitmap.tailMask(to));
            }
            if (set > 0) {
                long t0 = System.nanoTime();
                port.clearDirtyLog(slot, chunkStart, chunk, clearScratch);
                clearNanos += System.nanoTime() - t0;
                clearCalls++;
                pagesRearmed += set;
            }
            chunkStart = chunkEnd;
        }
    }

    /** Keeps only {@code keep}'s bits of clear-bitmap word {@code index}; returns how many set bits it dropped. */
    private long maskWord(long index, long keep) {
        long offset = index << 3;
        long word = clearScratch.get(JAVA_LONG, offset);
        clearScratch.set(JAVA_LONG, offset, word & keep);
        return Long.bitCount(word & ~keep);
    }

    /**
     * Thread-safe and lock-free: one atomic OR on the page's word. Call it after the write. It marks even
     * while not tracking: skipping on a racy look at the tracking flag could let a write that raced
     * {@link #start()} go unseen by the engine; marks left from before are drained by the first sync.
     */
    @Override
    public void recordHostWrite(long page) {
        hostWrites.mark(page);
    }

    @Override
    public TrackerStats stats() {
        return new TrackerStats(syncs, pagesSynced, hostPagesSynced, getCalls, getNanos, clearCalls, clearNanos,
                pagesRearmed);
    }

    private void requireTracking(String operation) {
        if (!tracking) {
            throw new IllegalStateException(operation + " while dirty tracking is stopped");
        }
    }
}
