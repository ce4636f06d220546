package dev.ferry.dirty;

import java.lang.foreign.MemorySegment;

/**
 * The KVM dirty-log operations the tracking algorithm needs, per memory slot. {@code vmm} implements it
 * with the real ioctls; this module never calls them itself. Slots are numbered 0..{@link #slotCount()}-1
 * in page-number order: slot 0's pages come first in the VM-wide numbering.
 */
public interface DirtyLogPort {
    int slotCount();

    /** Pages in slot {@code slot}. */
    long slotPages(int slot);

    /** Turns KVM_MEM_LOG_DIRTY_PAGES on or off for the slot (KVM_SET_USER_MEMORY_REGION). */
    void setLogging(int slot, boolean enabled);

    /**
     * True when KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 is enabled on the VM: {@link #getDirtyLog} then leaves
     * pages write-enabled and {@link #clearDirtyLog} re-protects them.
     */
    boolean manualProtect();

    /**
     * KVM_GET_DIRTY_LOG: writes the slot's bitmap (ceil(pages / 64) native-endian words) into {@code bitmap},
     * which is 8-byte aligned and may be longer (the tracker reuses one buffer sized for the largest slot).
     */
    void getDirtyLog(int slot, MemorySegment bitmap);

    /**
     * KVM_CLEAR_DIRTY_LOG: clears (re-protects) the pages of {@code [firstPage, firstPage + pageCount)} in the
     * slot whose bits are set in {@code bitmap}, which starts at {@code firstPage}. {@code firstPage} is a
     * multiple of 64; {@code pageCount} is a multiple of 64 unless the range ends at the slot's end.
     * {@code bitmap} is 8-byte aligned and may be longer than ceil(pageCount / 64) words.
     */
    void clearDirtyLog(int slot, long firstPage, long pageCount, MemorySegment bitmap);
}
