package dev.ferry.vm;

/**
 * One contiguous range of guest-physical RAM.
 *
 * @param slot          the region's slot number (a KVM memslot for the KVM VMM)
 * @param guestPhysAddr guest-physical start, page aligned
 * @param size          bytes, a positive multiple of the page size
 */
public record RamRegion(int slot, long guestPhysAddr, long size) {
    public RamRegion {
        if (guestPhysAddr % MigratableVm.PAGE_SIZE != 0 || size <= 0 || size % MigratableVm.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("RAM region " + slot + " is not page aligned: start 0x"
                    + Long.toHexString(guestPhysAddr) + ", size " + size);
        }
    }

    public long pages() {
        return size / MigratableVm.PAGE_SIZE;
    }
}
