package dev.ferry.dirty;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * A {@link DirtyLogPort} that behaves like KVM's dirty log, for testing the algorithm without /dev/kvm
 * (vmm's KVM tests run it against the real ioctls). Per slot it keeps KVM's dirty bitmap and which pages
 * are write-protected; a guest write to a protected page faults, sets the page's bit and unprotects it,
 * while a write to a writable page leaves no trace, exactly as with KVM's write protection. It also holds
 * each page's contents as a version number, so a test can check what an engine copied.
 *
 * <p>Enabling logging write-protects every page with empty bits, or with manual protect and
 * INITIALLY_SET leaves every page writable with its bit set. GET copies the bits, and without manual
 * protect also clears them and re-protects those pages. CLEAR checks KVM's argument rules, then clears and
 * re-protects the pages whose bits it is given. Host writes change contents and nothing else: KVM does not
 * see them.
 */
final class EmulatedDirtyLog implements DirtyLogPort {
    record ClearCall(int slot, long firstPage, long pageCount, BitSet bits) {
    }

    private final long[] slotPages;
    private final long[] slotFirstPage;
    private final boolean manualProtect;
    private final boolean initiallySet;
    private final BitSet[] dirty;
    private final BitSet[] writable;
    private final boolean[] logging;
    private final long[] contents;
    private int failSetLoggingAtSlot = -1;
    final List<ClearCall> clearCalls = new ArrayList<>();
    int getCalls;

    EmulatedDirtyLog(boolean manualProtect, boolean initiallySet, long... slotPages) {
        this.slotPages = slotPages.clone();
        this.slotFirstPage = new long[slotPages.length];
        this.manualProtect = manualProtect;
        this.initiallySet = initiallySet;
        this.dirty = new BitSet[slotPages.length];
        this.writable = new BitSet[slotPages.length];
        this.logging = new boolean[slotPages.length];
        long next = 0;
        for (int slot = 0; slot < slotPages.length; slot++) {
            slotFirstPage[slot] = next;
            next += slotPages[slot];
            dirty[slot] = new BitSet();
            writable[slot] = new BitSet();
            writable[slot].set(0, (int) slotPages[slot]);
        }
        this.contents = new long[(int) next];
    }

    /** Makes {@code setLogging(slot, true)} fail, as a failed KVM_SET_USER_MEMORY_REGION would. */
    void failSetLoggingAt(int slot) {
        failSetLoggingAtSlot = slot;
    }

    long pages() {
        return contents.length;
    }

    long contents(long page) {
        return contents[(int) page];
    }

    boolean logging(int slot) {
        return logging[slot];
    }

    /** A vCPU writes VM-wide {@code page}: new contents, and a logged fault if the page is protected. */
    void guestWrite(long page) {
        contents[(int) page]++;
        int slot = slotOf(page);
        int relative = (int) (page - slotFirstPage[slot]);
        if (logging[slot] && !writable[slot].get(relative)) {
            dirty[slot].set(relative);
            writable[slot].set(relative);
        }
    }

    /** The VMM writes {@code page}: KVM sees nothing. */
    void hostWrite(long page) {
        contents[(int) page]++;
    }

    @Override
    public int slotCount() {
        return slotPages.length;
    }

    @Override
    public long slotPages(int slot) {
        return slotPages[slot];
    }

    @Override
    public void setLogging(int slot, boolean enabled) {
        if (enabled && slot == failSetLoggingAtSlot) {
            throw new IllegalStateException("KVM_SET_USER_MEMORY_REGION slot " + slot + ": injected EINVAL");
        }
        if (enabled == logging[slot]) {
            return;
        }
        logging[slot] = enabled;
        int pages = (int) slotPages[slot];
        dirty[slot].clear();
        writable[slot].clear();
        if (!enabled || (manualProtect && initiallySet)) {
            writable[slot].set(0, pages);
        }
        if (enabled && manualProtect && initiallySet) {
            dirty[slot].set(0, pages);
        }
    }

    @Override
    public boolean manualProtect() {
        return manualProtect;
    }

    @Override
    public void getDirtyLog(int slot, MemorySegment bitmap) {
        if (!logging[slot]) {
            throw new IllegalStateException("KVM_GET_DIRTY_LOG slot " + slot + ": ENOENT, logging is off");
        }
        getCalls++;
        long words = (slotPages[slot] + 63) >>> 6;
        if (bitmap.byteSize() < words * 8) {
            throw new IllegalArgumentException("KVM_GET_DIRTY_LOG slot " + slot + ": EFAULT, bitmap too small");
        }
        long[] bits = dirty[slot].toLongArray();
        for (int k = 0; k < words; k++) {
            bitmap.set(JAVA_LONG_UNALIGNED, (long) k << 3, k < bits.length ? bits[k] : 0);
        }
        if (!manualProtect) {
            writable[slot].andNot(dirty[slot]);
            dirty[slot].clear();
        }
    }

    @Override
    public void clearDirtyLog(int slot, long firstPage, long pageCount, MemorySegment bitmap) {
        if (!manualProtect) {
            throw new IllegalStateException("KVM_CLEAR_DIRTY_LOG without manual protect: EINVAL");
        }
        if (!logging[slot]) {
            throw new IllegalStateException("KVM_CLEAR_DIRTY_LOG slot " + slot + ": ENOENT, logging is off");
        }
        long end = firstPage + pageCount;
        if ((firstPage & 63) != 0 || firstPage < 0 || end > slotPages[slot]
                || ((pageCount & 63) != 0 && end != slotPages[slot])) {
            throw new IllegalArgumentException("KVM_CLEAR_DIRTY_LOG slot " + slot + " [" + firstPage + ", +" + pageCount
                    + "): EINVAL");
        }
        BitSet given = new BitSet();
        for (long p = 0; p < pageCount; p++) {
            long word = bitmap.get(JAVA_LONG_UNALIGNED, (p >>> 6) << 3);
            if ((word & (1L << p)) != 0) {
                given.set((int) p);
                dirty[slot].clear((int) (firstPage + p));
                writable[slot].clear((int) (firstPage + p));
            }
        }
        clearCalls.add(new ClearCall(slot, firstPage, pageCount, given));
    }

    private int slotOf(long page) {
        for (int slot = slotPages.length - 1; slot >= 0; slot--) {
            if (slotPages[slot] > 0 && page >= slotFirstPage[slot]) {
                return slot;
            }
        }
        throw new IndexOutOfBoundsException("page " + page);
    }
}
