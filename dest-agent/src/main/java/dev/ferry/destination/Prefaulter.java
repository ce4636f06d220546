package dev.ferry.destination;

import dev.ferry.proto.v1.BackingHint;
import dev.ferry.vm.MigratableVm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;

/**
 * Backs the pages the source's BackingHint frames name with host memory, on a thread of its own, ahead of
 * round 1's batches (see PROTOCOL.md, "Backing memory ahead"). Round 1 sends pages in ascending order; the
 * receiver reports how far it installed, and this skips what it already passed. The installer still backs
 * any page it reaches first.
 */
final class Prefaulter {
    /** Pages backed per call: small enough that a stop waits for little, large enough to batch the calls. */
    private static final int CHUNK_PAGES = 128;
    /** The most bitmap one BackingHint may carry: 32 Mi pages. */
    static final int MAX_BITMAP_BYTES = 4 << 20;

    private final long pageCount;
    private final long[] words;
    private long nextPage;
    private boolean any;
    private Thread thread;
    private volatile long installedUpTo = -1;
    private volatile boolean stopped;

    Prefaulter(long pageCount) {
        this.pageCount = pageCount;
        this.words = new long[Math.toIntExact((pageCount + 63) >>> 6)];
    }

    /** Takes one BackingHint; throws ProtocolViolation naming what is wrong with it. */
    void add(BackingHint hint) {
        if (thread != null) {
            throw new ProtocolViolation("BackingHint after round 1's first PageBatch");
        }
        long first = hint.getFirstPage();
        ByteBuffer bitmap = hint.getBitmap().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        int bytes = bitmap.remaining();
        if (first != nextPage) {
            throw new ProtocolViolation("BackingHint from page " + Long.toUnsignedString(first) + " where page "
                    + nextPage + " was next");
        }
        if (bytes == 0 || bytes % 8 != 0 || bytes > MAX_BITMAP_BYTES) {
            throw new ProtocolViolation("BackingHint bitmap of " + bytes + " bytes (allowed: a multiple of 8, 8.."
                    + MAX_BITMAP_BYTES + ")");
        }
        int firstWord = (int) (first >>> 6);
        int count = bytes / 8;
        if (count > words.length - firstWord) {
            throw new ProtocolViolation("BackingHint covers pages up to " + (first + count * 64L - 1)
                    + ", beyond the VM's " + pageCount + " pages");
        }
        for (int i = 0; i < count; i++) {
            long word = bitmap.getLong(i * 8);
            long firstBeyond = pageCount - (long) (firstWord + i) * 64;
            if (firstBeyond < 64 && (word >>> firstBeyond) != 0) {
                throw new ProtocolViolation("BackingHint names pages beyond the VM's " + pageCount + " pages");
            }
            words[firstWord + i] = word;
            any |= word != 0;
        }
        nextPage = first + count * 64L;
    }

    /** Starts backing the hinted pages of {@code vm}, once: later hints are refused. */
    void start(MigratableVm vm) {
        if (thread != null) {
            return;
        }
        BitSet pages = BitSet.valueOf(words);
        thread = Thread.ofPlatform().daemon().name("ferry-receiver-prefault").unstarted(() -> back(vm, pages));
        if (any) {
            thread.start();
        }
    }

    /** Round 1 installed every page up to {@code page}. */
    void installedUpTo(long page) {
        installedUpTo = page;
    }

    /** Asks the thread to stop after the chunk it is backing. */
    void stop() {
        stopped = true;
    }

    /** Stops the thread and waits for it: the VM's memory may be released afterwards. */
    void stopAndJoin() {
        stop();
        Thread running = thread;
        if (running != null && running.isAlive()) {
            try {
                running.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void back(MigratableVm vm, BitSet pages) {
        int page = pages.nextSetBit(0);
        while (page >= 0 && !stopped) {
            long passed = installedUpTo;
            if (page <= passed) {
                page = pages.nextSetBit((int) passed + 1);
                continue;
            }
            int end = Math.min(pages.nextClearBit(page), page + CHUNK_PAGES);
            vm.backPages(page, end - page);
            page = pages.nextSetBit(end);
        }
    }
}
