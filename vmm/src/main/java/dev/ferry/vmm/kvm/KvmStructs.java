package dev.ferry.vmm.kvm;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/** Struct layouts from linux/kvm.h (x86-64), declared once. */
public final class KvmStructs {
    /** struct kvm_regs: 18 general registers, rip and rflags last. */
    public static final StructLayout REGS = MemoryLayout.structLayout(
            JAVA_LONG.withName("rax"), JAVA_LONG.withName("rbx"), JAVA_LONG.withName("rcx"),
            JAVA_LONG.withName("rdx"), JAVA_LONG.withName("rsi"), JAVA_LONG.withName("rdi"),
            JAVA_LONG.withName("rsp"), JAVA_LONG.withName("rbp"), JAVA_LONG.withName("r8"),
            JAVA_LONG.withName("r9"), JAVA_LONG.withName("r10"), JAVA_LONG.withName("r11"),
            JAVA_LONG.withName("r12"), JAVA_LONG.withName("r13"), JAVA_LONG.withName("r14"),
            JAVA_LONG.withName("r15"), JAVA_LONG.withName("rip"), JAVA_LONG.withName("rflags"));
    public static final int REGS_SIZE = (int) REGS.byteSize();

    /** struct kvm_segment. */
    public static final StructLayout SEGMENT = MemoryLayout.structLayout(
            JAVA_LONG.withName("base"), JAVA_INT.withName("limit"), JAVA_SHORT.withName("selector"),
            JAVA_BYTE.withName("type"), JAVA_BYTE.withName("present"), JAVA_BYTE.withName("dpl"),
            JAVA_BYTE.withName("db"), JAVA_BYTE.withName("s"), JAVA_BYTE.withName("l"),
            JAVA_BYTE.withName("g"), JAVA_BYTE.withName("avl"), JAVA_BYTE.withName("unusable"),
            JAVA_BYTE.withName("padding"));

    /** struct kvm_dtable. */
    public static final StructLayout DTABLE = MemoryLayout.structLayout(
            JAVA_LONG.withName("base"), JAVA_SHORT.withName("limit"),
            MemoryLayout.sequenceLayout(3, JAVA_SHORT).withName("padding"));

    /** struct kvm_sregs. */
    public static final StructLayout SREGS = MemoryLayout.structLayout(
            SEGMENT.withName("cs"), SEGMENT.withName("ds"), SEGMENT.withName("es"),
            SEGMENT.withName("fs"), SEGMENT.withName("gs"), SEGMENT.withName("ss"),
            SEGMENT.withName("tr"), SEGMENT.withName("ldt"),
            DTABLE.withName("gdt"), DTABLE.withName("idt"),
            JAVA_LONG.withName("cr0"), JAVA_LONG.withName("cr2"), JAVA_LONG.withName("cr3"),
            JAVA_LONG.withName("cr4"), JAVA_LONG.withName("cr8"), JAVA_LONG.withName("efer"),
            JAVA_LONG.withName("apic_base"),
            MemoryLayout.sequenceLayout(4, JAVA_LONG).withName("interrupt_bitmap"));
    public static final int SREGS_SIZE = (int) SREGS.byteSize();

    /** struct kvm_userspace_memory_region. */
    public static final StructLayout USERSPACE_MEMORY_REGION = MemoryLayout.structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("flags"),
            JAVA_LONG.withName("guest_phys_addr"), JAVA_LONG.withName("memory_size"),
            JAVA_LONG.withName("userspace_addr"));

    /** struct kvm_cpuid_entry2. */
    public static final StructLayout CPUID_ENTRY2 = MemoryLayout.structLayout(
            JAVA_INT.withName("function"), JAVA_INT.withName("index"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("eax"), JAVA_INT.withName("ebx"), JAVA_INT.withName("ecx"), JAVA_INT.withName("edx"),
            MemoryLayout.sequenceLayout(3, JAVA_INT).withName("padding"));
    public static final int CPUID_ENTRY2_SIZE = (int) CPUID_ENTRY2.byteSize();
    /** struct kvm_cpuid2 without its flexible entries array: nent, padding. */
    public static final int CPUID2_HEADER_SIZE = 8;

    /** struct kvm_irq_level: irq, level. */
    public static final int IRQ_LEVEL_SIZE = 8;
    /** struct kvm_pit_config: flags and 15 words of padding. */
    public static final int PIT_CONFIG_SIZE = 64;
    /** struct kvm_signal_mask without its sigset: len. */
    public static final int SIGNAL_MASK_HEADER_SIZE = 4;
    /** The kernel's sigset_t, 64 signals: what KVM_SET_SIGNAL_MASK expects in len. */
    public static final int KERNEL_SIGSET_SIZE = 8;

    /** struct kvm_enable_cap: cap, flags, args[4], pad[64]. */
    public static final StructLayout ENABLE_CAP = MemoryLayout.structLayout(
            JAVA_INT.withName("cap"), JAVA_INT.withName("flags"),
            MemoryLayout.sequenceLayout(4, JAVA_LONG).withName("args"),
            MemoryLayout.sequenceLayout(64, JAVA_BYTE).withName("pad"));
    public static final int ENABLE_CAP_SIZE = (int) ENABLE_CAP.byteSize();

    /** struct kvm_dirty_log: slot, padding, bitmap pointer. */
    public static final StructLayout DIRTY_LOG = MemoryLayout.structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("padding"), JAVA_LONG.withName("dirty_bitmap"));
    public static final int DIRTY_LOG_SIZE = (int) DIRTY_LOG.byteSize();

    /** struct kvm_clear_dirty_log: slot, num_pages, first_page, bitmap pointer. */
    public static final StructLayout CLEAR_DIRTY_LOG = MemoryLayout.structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("num_pages"), JAVA_LONG.withName("first_page"),
            JAVA_LONG.withName("dirty_bitmap"));
    public static final int CLEAR_DIRTY_LOG_SIZE = (int) CLEAR_DIRTY_LOG.byteSize();

    private KvmStructs() {
    }

    static VarHandle field(StructLayout layout, String... path) {
        MemoryLayout.PathElement[] elements = new MemoryLayout.PathElement[path.length];
        for (int i = 0; i < path.length; i++) {
            elements[i] = groupElement(path[i]);
        }
        return layout.varHandle(elements);
    }
}
