package dev.ferry.vm;

import java.lang.foreign.MemorySegment;

/**
 * A RAM region with its backing memory.
 *
 * @param region    where it sits in the guest
 * @param memory    the off-heap host memory, {@code region.size()} bytes
 * @param firstPage the number of its first page in the VM-wide page numbering
 */
public record GuestRam(RamRegion region, MemorySegment memory, long firstPage) {
    public GuestRam {
        if (memory.byteSize() != region.size()) {
            throw new IllegalArgumentException("memory of " + memory.byteSize() + " bytes for a region of " + region.size());
        }
    }

    /** The bytes of VM-wide page {@code page}, which must lie in this region. */
    public MemorySegment page(long page) {
        return memory.asSlice((page - firstPage) * MigratableVm.PAGE_SIZE, MigratableVm.PAGE_SIZE);
    }

    public boolean contains(long page) {
        return page >= firstPage && page < firstPage + region.pages();
    }
}
