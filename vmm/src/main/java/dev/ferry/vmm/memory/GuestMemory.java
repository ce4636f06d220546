package dev.ferry.vmm.memory;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RamRegion;
import dev.ferry.vmm.kvm.VmFd;
import dev.ferry.vmm.sys.Libc;
import dev.ferry.vmm.sys.SyscallException;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * A VM's RAM: one anonymous {@code MAP_NORESERVE} mapping, so untouched memory costs nothing, registered
 * with KVM as one or two memory slots around the PC's 32-bit MMIO hole:
 * slot 0 = [0, min(size, 3 GiB)), slot 1 = [4 GiB, 4 GiB + size - 3 GiB) when size exceeds 3 GiB.
 *
 * <p>Every write the VMM itself makes into guest memory goes through {@link #write} (or is reported with
 * {@link #recordHostWrite}) so that dirty tracking sees it: KVM logs only the guest's own writes.
 */
public final class GuestMemory implements AutoCloseable {
    public static final long LOW_RAM_LIMIT = 3L << 30;
    public static final long HIGH_RAM_BASE = 4L << 30;

    private static final int PAGEMAP_ENTRIES_PER_READ = 64 * 1024;
    private static final long PAGEMAP_PRESENT = 1L << 63;
    private static final long PAGEMAP_SWAPPED = 1L << 62;

    private final VmFd vm;
    private final MemorySegment mapping;
    private final List<GuestRam> ram;
    private final int[] slotFlags;
    private volatile LongConsumer hostWrites = page -> { };
    private final boolean preallocated;
    private volatile boolean populateWorks = true;

    private GuestMemory(VmFd vm, MemorySegment mapping, List<GuestRam> ram, boolean preallocated) {
        this.vm = vm;
        this.mapping = mapping;
        this.ram = List.copyOf(ram);
        this.slotFlags = new int[ram.size()];
        this.preallocated = preallocated;
    }

    /** Maps {@code size} bytes (a positive multiple of 4 KiB) and registers them with the VM, logging off. */
    public static GuestMemory create(VmFd vm, long size) {
        return create(vm, size, null);
    }

    /**
     * As {@link #create(VmFd, long)}, but takes the memory from {@code reserve} (may be null) when it is still
     * there and large enough: then every page is backed already and {@link #backPages} has nothing to do.
     */
    public static GuestMemory create(VmFd vm, long size, PreallocatedMemory reserve) {
        List<RamRegion> regions = layout(size);
        MemorySegment backed = reserve == null ? null : reserve.take(size);
        MemorySegment mapping = backed != null ? backed : Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        List<GuestRam> ram = new ArrayList<>();
        long offset = 0;
        long firstPage = 0;
        for (RamRegion region : regions) {
            ram.add(new GuestRam(region, mapping.asSlice(offset, region.size()), firstPage));
            offset += region.size();
            firstPage += region.pages();
        }
        GuestMemory memory = new GuestMemory(vm, mapping, ram, backed != null);
        try {
            for (int slot = 0; slot < ram.size(); slot++) {
                memory.register(slot);
            }
        } catch (RuntimeException e) {
            Libc.munmap(mapping);
            throw e;
        }
        return memory;
    }

    /** The RAM regions a VM of {@code size} bytes gets. */
    public static List<RamRegion> layout(long size) {
        if (size <= 0 || size % MigratableVm.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("guest memory of " + size + " bytes is not a positive multiple of 4 KiB");
        }
        if (size <= LOW_RAM_LIMIT) {
            return List.of(new RamRegion(0, 0, size));
        }
        return List.of(new RamRegion(0, 0, LOW_RAM_LIMIT), new RamRegion(1, HIGH_RAM_BASE, size - LOW_RAM_LIMIT));
    }

    /**
     * Sets in {@code into} every page the host has backed, in RAM or in swap ({@code /proc/self/pagemap}): a
     * page never touched by the guest or the VMM has no backing and reads as zero, so it is left clear without
     * being read. (mincore would be cheaper but reports a swapped-out page as untouched.)
     */
    public void residentPages(DirtyBitmap into) {
        ByteBuffer entries = ByteBuffer.allocateDirect(PAGEMAP_ENTRIES_PER_READ * 8).order(ByteOrder.nativeOrder());
        try (FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
            for (GuestRam region : ram()) {
                long firstVirtualPage = region.memory().address() / MigratableVm.PAGE_SIZE;
                long pages = region.region().pages();
                for (long done = 0; done < pages; ) {
                    int want = (int) Math.min(PAGEMAP_ENTRIES_PER_READ, pages - done);
                    entries.clear().limit(want * 8);
                    long position = (firstVirtualPage + done) * 8;
                    while (entries.hasRemaining()) {
                        if (pagemap.read(entries, position + entries.position()) < 0) {
                            throw new IOException("pagemap ended early");
                        }
                    }
                    for (int i = 0; i < want; i++) {
                        if ((entries.getLong(i * 8) & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED)) != 0) {
                            into.set(region.firstPage() + done + i);
                        }
                    }
                    done += want;
                }
            }
        } catch (IOException e) {
            // Without the page map every page may hold data: read them all.
            into.setAll();
        }
    }

    /**
     * Backs VM-wide pages {@code [firstPage, firstPage + pages)} now with MADV_POPULATE_WRITE, one call instead
     * of a page fault per page (each a few microseconds on a nested host). A hint: on a kernel without it
     * (before 5.14) this stops trying and the writes fault as usual; preallocated memory is backed already.
     */
    public void backPages(long firstPage, long pages) {
        if (preallocated || !populateWorks || pages <= 0) {
            return;
        }
        for (GuestRam region : ram) {
            long from = Math.max(firstPage, region.firstPage());
            long to = Math.min(firstPage + pages, region.firstPage() + region.region().pages());
            if (from < to) {
                try {
                    Libc.madvise(region.memory().asSlice((from - region.firstPage()) * MigratableVm.PAGE_SIZE,
                            (to - from) * MigratableVm.PAGE_SIZE), Libc.MADV_POPULATE_WRITE);
                } catch (SyscallException e) {
                    populateWorks = false;
                    return;
                }
            }
        }
    }

    public List<GuestRam> ram() {
        return ram;
    }

    public long size() {
        return mapping.byteSize();
    }

    /** Whether this memory came from a {@link PreallocatedMemory}, every page backed before the VM existed. */
    public boolean preallocated() {
        return preallocated;
    }

    /** Where the dirty tracker learns of the VMM's own writes: called with each VM-wide page number written. */
    public void onHostWrite(LongConsumer pages) {
        this.hostWrites = pages;
    }

    /**
     * The host bytes behind guest-physical [gpa, gpa + length), which must lie in one region. For reading;
     * a caller that writes through it must call {@link #recordHostWrite}.
     */
    public MemorySegment slice(long gpa, long length) {
        for (GuestRam r : ram) {
            long start = r.region().guestPhysAddr();
            if (gpa >= start && length >= 0 && gpa + length <= start + r.region().size()) {
                return r.memory().asSlice(gpa - start, length);
            }
        }
        throw new IllegalArgumentException("guest-physical [0x" + Long.toHexString(gpa) + ", 0x"
                + Long.toHexString(gpa + length) + ") is not inside one RAM region");
    }

    /** Copies {@code bytes} to guest-physical {@code gpa} and records the pages as written by the host. */
    public void write(long gpa, MemorySegment bytes) {
        MemorySegment.copy(bytes, 0, slice(gpa, bytes.byteSize()), 0, bytes.byteSize());
        recordHostWrite(gpa, bytes.byteSize());
    }

    public void write(long gpa, byte[] bytes) {
        write(gpa, MemorySegment.ofArray(bytes));
    }

    /** Reports that the VMM wrote guest-physical [gpa, gpa + length) behind KVM's back. */
    public void recordHostWrite(long gpa, long length) {
        if (length <= 0) {
            return;
        }
        LongConsumer sink = hostWrites;
        for (GuestRam r : ram) {
            long start = r.region().guestPhysAddr();
            long end = start + r.region().size();
            long from = Math.max(gpa, start);
            long to = Math.min(gpa + length, end);
            if (from >= to) {
                continue;
            }
            long last = (to - 1 - start) / MigratableVm.PAGE_SIZE;
            for (long page = (from - start) / MigratableVm.PAGE_SIZE; page <= last; page++) {
                sink.accept(r.firstPage() + page);
            }
        }
    }

    int slotCount() {
        return ram.size();
    }

    GuestRam slot(int slot) {
        return ram.get(slot);
    }

    VmFd vm() {
        return vm;
    }

    /** Turns KVM_MEM_LOG_DIRTY_PAGES on or off for {@code slot} by re-registering it. */
    public synchronized void setDirtyLogging(int slot, boolean enabled) {
        slotFlags[slot] = enabled ? VmFd.MEM_LOG_DIRTY_PAGES : 0;
        register(slot);
    }

    public synchronized boolean dirtyLogging(int slot) {
        return (slotFlags[slot] & VmFd.MEM_LOG_DIRTY_PAGES) != 0;
    }

    private void register(int slot) {
        GuestRam r = ram.get(slot);
        vm.setUserMemoryRegion(slot, slotFlags[slot], r.region().guestPhysAddr(), r.memory());
    }

    /** Unmaps the memory. The VM must be closed first (or its slots removed): KVM still points at it. */
    @Override
    public void close() {
        Libc.munmap(mapping);
    }
}
