package dev.ferry.vmm.memory;

import dev.ferry.vm.MigratableVm;
import dev.ferry.vmm.sys.Libc;
import dev.ferry.vmm.sys.SyscallException;

import java.lang.foreign.MemorySegment;
import java.util.function.LongConsumer;

/**
 * Guest RAM backed before it is needed, for a destination VMM started with {@code --prealloc}, as QEMU's
 * {@code -mem-prealloc} does for a destination started with {@code -m}. Memory a process touches for the
 * first time costs the host a fault and a cleared page each; on a host whose own memory is backed lazily
 * that cost is several times the copy, and it would otherwise land inside the first migration round.
 *
 * <p>The first VM that fits takes the memory: its first {@code size} bytes, still all zero, and the rest
 * goes back to the host. A VM that does not fit releases it and gets fresh memory, so a reserve never holds
 * memory beside a VM's.
 */
public final class PreallocatedMemory implements AutoCloseable {
    /** Backed in steps of this size, so that progress can be reported. */
    private static final long STEP = 64L << 20;

    private final long size;
    private MemorySegment mapping;

    private PreallocatedMemory(MemorySegment mapping) {
        this.mapping = mapping;
        this.size = mapping.byteSize();
    }

    /**
     * Maps {@code bytes} (a positive multiple of 4 KiB) and backs every page now with MADV_POPULATE_WRITE,
     * telling {@code progress} how many bytes are backed after each step.
     */
    public static PreallocatedMemory back(long bytes, LongConsumer progress) {
        if (bytes <= 0 || bytes % MigratableVm.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("preallocated memory of " + bytes
                    + " bytes is not a positive multiple of 4 KiB");
        }
        MemorySegment mapping = Libc.mmap(bytes, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        try {
            for (long done = 0; done < bytes; ) {
                long step = Math.min(STEP, bytes - done);
                Libc.madvise(mapping.asSlice(done, step), Libc.MADV_POPULATE_WRITE);
                done += step;
                progress.accept(done);
            }
        } catch (SyscallException e) {
            Libc.munmap(mapping);
            throw new SyscallException("backing " + bytes + " bytes of preallocated memory (MADV_POPULATE_WRITE, "
                    + "Linux 5.14 or later; the host may also be out of memory)", e.errno());
        }
        return new PreallocatedMemory(mapping);
    }

    public long size() {
        return size;
    }

    /** Whether the memory still waits for a VM. */
    public synchronized boolean available() {
        return mapping != null;
    }

    /**
     * The first {@code bytes} of the memory for a VM's RAM, which from then on owns and unmaps them, or null
     * when it was taken already or is smaller than that (and is then released).
     */
    synchronized MemorySegment take(long bytes) {
        if (mapping == null) {
            return null;
        }
        MemorySegment whole = mapping;
        mapping = null;
        if (bytes > size) {
            Libc.munmap(whole);
            return null;
        }
        if (bytes < size) {
            Libc.munmap(whole.asSlice(bytes));
        }
        return whole.asSlice(0, bytes);
    }

    /** Gives the memory back to the host unless a VM took it. */
    @Override
    public synchronized void close() {
        if (mapping != null) {
            Libc.munmap(mapping);
            mapping = null;
        }
    }
}
