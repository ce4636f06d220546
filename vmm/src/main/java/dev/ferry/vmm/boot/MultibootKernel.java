package dev.ferry.vmm.boot;

import dev.ferry.vmm.kvm.VcpuFd;
import dev.ferry.vmm.memory.GuestMemory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A Multiboot (version 1) kernel: the header is found in the first 8 KiB, the image loaded from its ELF32
 * program headers (or the header's a.out-kludge addresses when flag bit 16 is set), a Multiboot information
 * structure built in low memory, and the kernel entered in 32-bit protected mode as the specification
 * requires: EAX = 0x2BADB002, EBX = the information structure, flat 4 GiB code and data segments, paging
 * off, interrupts off, A20 on.
 */
public record MultibootKernel(byte[] image) implements BootSource {
    public static final int HEADER_MAGIC = 0x1BADB002;
    public static final int BOOTLOADER_MAGIC = 0x2BADB002;
    public static final long INFO_ADDRESS = 0x9000;
    static final long MMAP_ADDRESS = 0x9100;
    static final long CMDLINE_ADDRESS = 0x9400;
    static final long LOADER_NAME_ADDRESS = 0x93e0;
    static final int MAX_CMDLINE = 0x6c00 - 1;
    private static final int SEARCH_LIMIT = 8192;
    private static final int FLAG_AOUT_KLUDGE = 1 << 16;
    /** Bits 0-15 the kernel requires: page-aligned modules, memory info and video info are the ones we honour. */
    private static final int SUPPORTED_REQUIRED = 0x7;

    private static final int INFO_MEMORY = 1;
    private static final int INFO_CMDLINE = 1 << 2;
    private static final int INFO_MMAP = 1 << 6;
    private static final int INFO_LOADER_NAME = 1 << 9;

    public MultibootKernel {
        image = image.clone();
        header(image); // refuse a non-Multiboot image now, not at boot
    }

    public static MultibootKernel fromFile(java.nio.file.Path file) {
        return new MultibootKernel(BootSource.read(file));
    }

    /** The offset of the Multiboot header in the image. */
    static int header(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        for (int off = 0; off + 12 <= Math.min(image.length, SEARCH_LIMIT); off += 4) {
            if (b.getInt(off) == HEADER_MAGIC) {
                int flags = b.getInt(off + 4);
                int checksum = b.getInt(off + 8);
                if (HEADER_MAGIC + flags + checksum != 0) {
                    throw new IllegalArgumentException(String.format(
                            "Multiboot header at offset %d has a bad checksum (magic + flags + checksum = 0x%x, not 0)",
                            off, HEADER_MAGIC + flags + checksum));
                }
                if ((flags & 0xffff & ~SUPPORTED_REQUIRED) != 0) {
                    throw new IllegalArgumentException(String.format(
                            "Multiboot kernel requires features 0x%x this loader does not provide", flags & 0xffff & ~SUPPORTED_REQUIRED));
                }
                return off;
            }
        }
        throw new IllegalArgumentException("no Multiboot header (magic 0x1BADB002) in the first 8 KiB of the kernel image");
    }

    @Override
    public void load(GuestMemory memory, VcpuFd bootVcpu, String commandLine) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int header = header(image);
        int flags = b.getInt(header + 4);
        long entry = (flags & FLAG_AOUT_KLUDGE) != 0 ? loadAout(memory, b, header) : loadElf(memory, b);
        writeInfo(memory, commandLine);
        memory.write(LongModePayload.GDT_ADDRESS, LongModePayload.gdt(false));
        try (EntryState state = new EntryState(bootVcpu)) {
            state.segment(EntryState.CS, 0, 0xffffffff, 0x08, 0xb, true, true, false, true);
            for (long seg : new long[] {EntryState.DS, EntryState.ES, EntryState.FS, EntryState.GS, EntryState.SS}) {
                state.segment(seg, 0, 0xffffffff, 0x10, 0x3, true, true, false, true);
            }
            state.gdt(LongModePayload.GDT_ADDRESS, 3 * 8 - 1)
                    .cr0(0x11) // PE | ET; paging off
                    .cr4(0)
                    .efer(0)
                    .reg(EntryState.RAX, BOOTLOADER_MAGIC & 0xffffffffL)
                    .reg(EntryState.RBX, INFO_ADDRESS)
                    .reg(EntryState.RIP, entry)
                    .reg(EntryState.RFLAGS, 0x2)
                    .apply();
        }
    }

    private long loadAout(GuestMemory memory, ByteBuffer b, int header) {
        long headerAddr = b.getInt(header + 12) & 0xffffffffL;
        long loadAddr = b.getInt(header + 16) & 0xffffffffL;
        long loadEnd = b.getInt(header + 20) & 0xffffffffL;
        long bssEnd = b.getInt(header + 24) & 0xffffffffL;
        long entry = b.getInt(header + 28) & 0xffffffffL;
        long fileOffset = header - (headerAddr - loadAddr);
        if (loadAddr > headerAddr || fileOffset < 0) {
            throw new IllegalArgumentException(String.format(
                    "Multiboot a.out addresses are inconsistent: load_addr 0x%x, header_addr 0x%x at offset %d",
                    loadAddr, headerAddr, header));
        }
        long length = loadEnd == 0 ? image.length - fileOffset : loadEnd - loadAddr;
        if (length < 0 || fileOffset + length > image.length) {
            throw new IllegalArgumentException(String.format(
                    "Multiboot load_end_addr 0x%x lies beyond the %d-byte image", loadEnd, image.length));
        }
        memory.write(loadAddr, java.lang.foreign.MemorySegment.ofArray(image).asSlice(fileOffset, length));
        if (bssEnd > loadAddr + length) {
            zero(memory, loadAddr + length, bssEnd - loadAddr - length);
        }
        return entry;
    }

    private long loadElf(GuestMemory memory, ByteBuffer b) {
        if (image.length < 52 || b.getInt(0) != 0x464c457f) {
            throw new IllegalArgumentException("Multiboot kernel without the a.out kludge (flag 16) must be an ELF file");
        }
        if (image[4] != 1 || image[5] != 1 || (b.getShort(18) & 0xffff) != 3) {
            throw new IllegalArgumentException("Multiboot ELF kernel must be ELF32, little-endian, for i386");
        }
        long entry = b.getInt(24) & 0xffffffffL;
        int phoff = b.getInt(28);
        int phentsize = b.getShort(42) & 0xffff;
        int phnum = b.getShort(44) & 0xffff;
        int loaded = 0;
        for (int i = 0; i < phnum; i++) {
            int ph = phoff + i * phentsize;
            if (ph + 32 > image.length) {
                throw new IllegalArgumentException("ELF program header " + i + " lies beyond the image");
            }
            if (b.getInt(ph) != 1) { // PT_LOAD
                continue;
            }
            long offset = b.getInt(ph + 4) & 0xffffffffL;
            long paddr = b.getInt(ph + 12) & 0xffffffffL;
            long filesz = b.getInt(ph + 16) & 0xffffffffL;
            long memsz = b.getInt(ph + 20) & 0xffffffffL;
            if (offset + filesz > image.length) {
                throw new IllegalArgumentException("ELF segment " + i + " lies beyond the image");
            }
            if (filesz > 0) {
                memory.write(paddr, java.lang.foreign.MemorySegment.ofArray(image).asSlice(offset, filesz));
            }
            if (memsz > filesz) {
                zero(memory, paddr + filesz, memsz - filesz);
            }
            loaded++;
        }
        if (loaded == 0) {
            throw new IllegalArgumentException("Multiboot ELF kernel has no PT_LOAD segment");
        }
        return entry;
    }

    private static void zero(GuestMemory memory, long gpa, long length) {
        memory.slice(gpa, length).fill((byte) 0);
        memory.recordHostWrite(gpa, length);
    }

    private static void writeInfo(GuestMemory memory, String commandLine) {
        long lowEnd = Math.min(memory.size(), GuestMemory.LOW_RAM_LIMIT);
        long high = memory.size() - lowEnd;
        ByteBuffer mmap = ByteBuffer.allocate(5 * 24).order(ByteOrder.LITTLE_ENDIAN);
        int entries = 0;
        entries += mmapEntry(mmap, entries, 0, 0x9fc00, 1);
        entries += mmapEntry(mmap, entries, 0x9fc00, 0x100000 - 0x9fc00, 2);
        if (lowEnd > 0x100000) {
            entries += mmapEntry(mmap, entries, 0x100000, lowEnd - 0x100000, 1);
        }
        if (high > 0) {
            entries += mmapEntry(mmap, entries, GuestMemory.HIGH_RAM_BASE, high, 1);
        }
        memory.write(MMAP_ADDRESS, java.lang.foreign.MemorySegment.ofArray(mmap.array()).asSlice(0, entries * 24L));

        byte[] cmdline = commandLine.getBytes(StandardCharsets.UTF_8);
        if (cmdline.length > MAX_CMDLINE) {
            throw new IllegalArgumentException("kernel command line of " + cmdline.length + " bytes exceeds " + MAX_CMDLINE);
        }
        byte[] cmd = java.util.Arrays.copyOf(cmdline, cmdline.length + 1);
        memory.write(CMDLINE_ADDRESS, cmd);
        memory.write(LOADER_NAME_ADDRESS, "ferry\0".getBytes(StandardCharsets.US_ASCII));

        ByteBuffer info = ByteBuffer.allocate(88).order(ByteOrder.LITTLE_ENDIAN);
        info.putInt(0, INFO_MEMORY | INFO_CMDLINE | INFO_MMAP | INFO_LOADER_NAME);
        info.putInt(4, 640);
        info.putInt(8, (int) ((lowEnd - 0x100000) / 1024));
        info.putInt(16, (int) CMDLINE_ADDRESS);
        info.putInt(44, entries * 24);
        info.putInt(48, (int) MMAP_ADDRESS);
        info.putInt(64, (int) LOADER_NAME_ADDRESS);
        memory.write(INFO_ADDRESS, info.array());
    }

    private static int mmapEntry(ByteBuffer mmap, int index, long base, long length, int type) {
        int at = index * 24;
        mmap.putInt(at, 20);
        mmap.putLong(at + 4, base);
        mmap.putLong(at + 12, length);
        mmap.putInt(at + 20, type);
        return 1;
    }

    @Override
    public String describe() {
        return "Multiboot kernel (" + image.length + " bytes)";
    }
}
