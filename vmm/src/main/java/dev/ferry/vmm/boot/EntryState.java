package dev.ferry.vmm.boot;

import dev.ferry.vmm.kvm.KvmStructs;
import dev.ferry.vmm.kvm.VcpuFd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The boot vCPU's registers as a loader hands over: read from the vCPU, edited field by field, written back.
 * Offsets follow struct kvm_regs / kvm_sregs.
 */
final class EntryState implements AutoCloseable {
    static final int RAX = 0;
    static final int RBX = 1;
    static final int RCX = 2;
    static final int RDX = 3;
    static final int RSI = 4;
    static final int RDI = 5;
    static final int RSP = 6;
    static final int RBP = 7;
    static final int RIP = 16;
    static final int RFLAGS = 17;

    static final long CS = 0;
    static final long DS = 24;
    static final long ES = 48;
    static final long FS = 72;
    static final long GS = 96;
    static final long SS = 120;
    private static final long GDT = 192;
    private static final long IDT = 208;
    private static final long CR0 = 224;
    private static final long CR3 = 240;
    private static final long CR4 = 248;
    private static final long EFER = 264;

    private final Arena arena = Arena.ofConfined();
    private final VcpuFd vcpu;
    private final MemorySegment regs;
    private final MemorySegment sregs;

    EntryState(VcpuFd vcpu) {
        this.vcpu = vcpu;
        this.regs = arena.allocate(KvmStructs.REGS);
        this.sregs = arena.allocate(KvmStructs.SREGS);
        vcpu.getRegs(regs);
        vcpu.getSregs(sregs);
    }

    EntryState reg(int index, long value) {
        regs.set(JAVA_LONG, index * 8L, value);
        return this;
    }

    /** A segment register: base, limit, selector and the descriptor's attribute bits. */
    EntryState segment(long offset, long base, int limit, int selector, int type, boolean codeOrData,
                       boolean db, boolean longMode, boolean granularity) {
        sregs.set(JAVA_LONG, offset, base);
        sregs.set(JAVA_INT, offset + 8, limit);
        sregs.set(JAVA_SHORT, offset + 12, (short) selector);
        sregs.set(JAVA_BYTE, offset + 14, (byte) type);
        sregs.set(JAVA_BYTE, offset + 15, (byte) 1); // present
        sregs.set(JAVA_BYTE, offset + 16, (byte) 0); // dpl
        sregs.set(JAVA_BYTE, offset + 17, (byte) (db ? 1 : 0));
        sregs.set(JAVA_BYTE, offset + 18, (byte) (codeOrData ? 1 : 0));
        sregs.set(JAVA_BYTE, offset + 19, (byte) (longMode ? 1 : 0));
        sregs.set(JAVA_BYTE, offset + 20, (byte) (granularity ? 1 : 0));
        sregs.set(JAVA_BYTE, offset + 21, (byte) 0);
        sregs.set(JAVA_BYTE, offset + 22, (byte) 0); // usable
        return this;
    }

    /** A real-mode segment: base = selector * 16, 64 KiB limit. */
    EntryState realModeSegment(long offset, int selector) {
        sregs.set(JAVA_LONG, offset, (long) selector << 4);
        sregs.set(JAVA_SHORT, offset + 12, (short) selector);
        return this;
    }

    EntryState gdt(long base, int limit) {
        sregs.set(JAVA_LONG, GDT, base);
        sregs.set(JAVA_SHORT, GDT + 8, (short) limit);
        return this;
    }

    EntryState idt(long base, int limit) {
        sregs.set(JAVA_LONG, IDT, base);
        sregs.set(JAVA_SHORT, IDT + 8, (short) limit);
        return this;
    }

    EntryState cr0(long value) {
        sregs.set(JAVA_LONG, CR0, value);
        return this;
    }

    EntryState cr3(long value) {
        sregs.set(JAVA_LONG, CR3, value);
        return this;
    }

    EntryState cr4(long value) {
        sregs.set(JAVA_LONG, CR4, value);
        return this;
    }

    EntryState efer(long value) {
        sregs.set(JAVA_LONG, EFER, value);
        return this;
    }

    void apply() {
        vcpu.setSregs(sregs);
        vcpu.setRegs(regs);
    }

    @Override
    public void close() {
        arena.close();
    }
}
