package dev.ferry.vmm.boot;

import dev.ferry.vmm.kvm.VcpuFd;
import dev.ferry.vmm.memory.GuestMemory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A flat binary entered directly in 64-bit long mode: loaded at {@code loadAddress}, with identity-mapped
 * page tables for the first 4 GiB (2 MiB pages), a GDT holding a 64-bit code segment, EFER.LME|LMA,
 * CR0.PG|PE, CR4.PAE, interrupts off, and RIP = {@code entry}.
 */
public record LongModePayload(byte[] image, long loadAddress, long entry) implements BootSource {
    public static final long DEFAULT_LOAD_ADDRESS = 0x100000;
    static final long GDT_ADDRESS = 0x500;
    static final long PML4_ADDRESS = 0x2000;
    static final long PDPT_ADDRESS = 0x3000;
    /** Four page directories, one per GiB: 0x4000..0x7FFF. */
    static final long PD_ADDRESS = 0x4000;
    static final long STACK_TOP = 0x80000;

    private static final long CR0_PE = 1;
    private static final long CR0_ET = 1 << 4;
    private static final long CR0_PG = 1L << 31;
    private static final long CR4_PAE = 1 << 5;
    private static final long EFER_LME = 1 << 8;
    private static final long EFER_LMA = 1 << 10;

    public LongModePayload {
        if (image.length == 0) {
            throw new IllegalArgumentException("the long-mode payload is empty");
        }
        if (loadAddress < 0x8000) {
            throw new IllegalArgumentException(String.format(
                    "payload load address 0x%x overlaps the page tables below 0x8000", loadAddress));
        }
        image = image.clone();
    }

    @Override
    public void load(GuestMemory memory, VcpuFd bootVcpu, String commandLine) {
        if (loadAddress + image.length > memory.size() || loadAddress + image.length > GuestMemory.LOW_RAM_LIMIT) {
            throw new IllegalArgumentException(String.format(
                    "payload of %d bytes at 0x%x does not fit in %d bytes of low guest memory",
                    image.length, loadAddress, memory.size()));
        }
        memory.write(loadAddress, image);
        memory.write(GDT_ADDRESS, gdt(true));
        ByteBuffer pml4 = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        pml4.putLong(0, PDPT_ADDRESS | 3);
        memory.write(PML4_ADDRESS, pml4.array());
        ByteBuffer pdpt = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        for (int gib = 0; gib < 4; gib++) {
            pdpt.putLong(gib * 8, (PD_ADDRESS + gib * 4096L) | 3);
        }
        memory.write(PDPT_ADDRESS, pdpt.array());
        ByteBuffer pds = ByteBuffer.allocate(4 * 4096).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 4 * 512; i++) {
            pds.putLong(i * 8, ((long) i << 21) | 0x83); // present, writable, 2 MiB page
        }
        memory.write(PD_ADDRESS, pds.array());
        try (EntryState state = new EntryState(bootVcpu)) {
            state.segment(EntryState.CS, 0, 0xffffffff, 0x08, 0xb, true, false, true, true);
            for (long seg : new long[] {EntryState.DS, EntryState.ES, EntryState.FS, EntryState.GS, EntryState.SS}) {
                state.segment(seg, 0, 0xffffffff, 0x10, 0x3, true, true, false, true);
            }
            state.gdt(GDT_ADDRESS, 3 * 8 - 1)
                    .idt(0, 0)
                    .cr3(PML4_ADDRESS)
                    .cr4(CR4_PAE)
                    .cr0(CR0_PE | CR0_ET | CR0_PG)
                    .efer(EFER_LME | EFER_LMA)
                    .reg(EntryState.RIP, entry)
                    .reg(EntryState.RSP, STACK_TOP)
                    .reg(EntryState.RFLAGS, 0x2)
                    .apply();
        }
    }

    /** A GDT: null, flat code (64-bit when {@code longMode}, else 32-bit) at 0x08, flat data at 0x10. */
    static byte[] gdt(boolean longMode) {
        ByteBuffer gdt = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        gdt.putLong(8, longMode ? 0x00af9b000000ffffL : 0x00cf9b000000ffffL);
        gdt.putLong(16, 0x00cf93000000ffffL);
        return gdt.array();
    }

    @Override
    public String describe() {
        return String.format("long-mode payload (%d bytes at 0x%x, entry 0x%x)", image.length, loadAddress, entry);
    }
}
