package dev.ferry.vmm.memory;

import dev.ferry.dirty.DirtyLogPort;

import java.lang.foreign.MemorySegment;

/** The dirty-log ioctls over a VM's memory slots, for the dirty tracker. */
public final class KvmDirtyLogPort implements DirtyLogPort {
    private final GuestMemory memory;
    private final boolean manualProtect;

    /** @param manualProtect whether KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 was enabled on the VM */
    public KvmDirtyLogPort(GuestMemory memory, boolean manualProtect) {
        this.memory = memory;
        this.manualProtect = manualProtect;
    }

    @Override
    public int slotCount() {
        return memory.slotCount();
    }

    @Override
    public long slotPages(int slot) {
        return memory.slot(slot).region().pages();
    }

    @Override
    public void setLogging(int slot, boolean enabled) {
        memory.setDirtyLogging(slot, enabled);
    }

    @Override
    public boolean manualProtect() {
        return manualProtect;
    }

    @Override
    public void getDirtyLog(int slot, MemorySegment bitmap) {
        long needed = ((slotPages(slot) + 63) >>> 6) * 8;
        if (bitmap.byteSize() < needed) {
            throw new IllegalArgumentException("dirty bitmap of " + bitmap.byteSize() + " bytes for slot " + slot
                    + " needs " + needed);
        }
        memory.vm().getDirtyLog(slot, bitmap);
    }

    @Override
    public void clearDirtyLog(int slot, long firstPage, long pageCount, MemorySegment bitmap) {
        if (!manualProtect) {
            throw new IllegalStateException("KVM_CLEAR_DIRTY_LOG needs KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, not enabled on this VM");
        }
        long pages = slotPages(slot);
        if (firstPage < 0 || firstPage % 64 != 0 || pageCount <= 0 || firstPage + pageCount > pages
                || (pageCount % 64 != 0 && firstPage + pageCount != pages)) {
            throw new IllegalArgumentException("clear of pages [" + firstPage + ", " + (firstPage + pageCount)
                    + ") in slot " + slot + " of " + pages + " pages: start must be a multiple of 64 and the length"
                    + " too unless it ends the slot");
        }
        if (bitmap.byteSize() < ((pageCount + 63) >>> 6) * 8) {
            throw new IllegalArgumentException("bitmap of " + bitmap.byteSize() + " bytes for " + pageCount + " pages");
        }
        for (long done = 0; done < pageCount; ) {
            // num_pages is a u32: split a huge slot's clear into ranges KVM can take.
            long chunk = Math.min(pageCount - done, 1L << 30);
            memory.vm().clearDirtyLog(slot, firstPage + done, (int) chunk, bitmap.asSlice(done / 8));
            done += chunk;
        }
    }
}
