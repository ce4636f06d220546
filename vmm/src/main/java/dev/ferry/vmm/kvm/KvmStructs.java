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

    // ---- VM state save/restore (vCPU, in-kernel irqchip, PIT, clock) ----
    // The big kernel structs are opaque blobs: nothing in the VMM reads their fields.

    /** struct kvm_xsave: the legacy 4096-byte region; KVM_CAP_XSAVE2 may ask for a larger buffer. */
    public static final MemoryLayout XSAVE = MemoryLayout.sequenceLayout(1024, JAVA_INT).withName("region");
    public static final int XSAVE_SIZE = (int) XSAVE.byteSize();

    /** struct kvm_xcr. */
    public static final StructLayout XCR = MemoryLayout.structLayout(
            JAVA_INT.withName("xcr"), JAVA_INT.withName("reserved"), JAVA_LONG.withName("value"));
    /** struct kvm_xcrs: up to 16 extended control registers. */
    public static final StructLayout XCRS = MemoryLayout.structLayout(
            JAVA_INT.withName("nr_xcrs"), JAVA_INT.withName("flags"),
            MemoryLayout.sequenceLayout(16, XCR).withName("xcrs"),
            MemoryLayout.sequenceLayout(16, JAVA_LONG).withName("padding"));
    public static final int XCRS_SIZE = (int) XCRS.byteSize();

    /** struct kvm_msrs header; {@link #MSR_ENTRY} entries follow it. */
    public static final StructLayout MSRS_HEADER = MemoryLayout.structLayout(
            JAVA_INT.withName("nmsrs"), JAVA_INT.withName("pad"));
    public static final int MSRS_HEADER_SIZE = (int) MSRS_HEADER.byteSize();
    /** struct kvm_msr_entry. */
    public static final StructLayout MSR_ENTRY = MemoryLayout.structLayout(
            JAVA_INT.withName("index"), JAVA_INT.withName("reserved"), JAVA_LONG.withName("data"));
    public static final int MSR_ENTRY_SIZE = (int) MSR_ENTRY.byteSize();

    /** struct kvm_msr_list header; {@code nmsrs} 32-bit MSR indices follow it. */
    public static final StructLayout MSR_LIST_HEADER = MemoryLayout.structLayout(JAVA_INT.withName("nmsrs"));
    public static final int MSR_LIST_HEADER_SIZE = (int) MSR_LIST_HEADER.byteSize();

    /** struct kvm_lapic_state: the 1 KiB APIC register page. */
    public static final MemoryLayout LAPIC_STATE = MemoryLayout.sequenceLayout(1024, JAVA_BYTE).withName("regs");
    public static final int LAPIC_STATE_SIZE = (int) LAPIC_STATE.byteSize();

    /** struct kvm_vcpu_events. */
    public static final StructLayout VCPU_EVENTS = MemoryLayout.structLayout(
            JAVA_BYTE.withName("exception_injected"), JAVA_BYTE.withName("exception_nr"),
            JAVA_BYTE.withName("exception_has_error_code"), JAVA_BYTE.withName("exception_pending"),
            JAVA_INT.withName("exception_error_code"),
            JAVA_BYTE.withName("interrupt_injected"), JAVA_BYTE.withName("interrupt_nr"),
            JAVA_BYTE.withName("interrupt_soft"), JAVA_BYTE.withName("interrupt_shadow"),
            JAVA_BYTE.withName("nmi_injected"), JAVA_BYTE.withName("nmi_pending"),
            JAVA_BYTE.withName("nmi_masked"), JAVA_BYTE.withName("nmi_pad"),
            JAVA_INT.withName("sipi_vector"), JAVA_INT.withName("flags"),
            JAVA_BYTE.withName("smi_smm"), JAVA_BYTE.withName("smi_pending"),
            JAVA_BYTE.withName("smi_smm_inside_nmi"), JAVA_BYTE.withName("smi_latched_init"),
            JAVA_BYTE.withName("triple_fault_pending"),
            MemoryLayout.sequenceLayout(26, JAVA_BYTE).withName("reserved"),
            JAVA_BYTE.withName("exception_has_payload"), JAVA_LONG.withName("exception_payload"));
    public static final int VCPU_EVENTS_SIZE = (int) VCPU_EVENTS.byteSize();

    /** struct kvm_mp_state. */
    public static final StructLayout MP_STATE = MemoryLayout.structLayout(JAVA_INT.withName("mp_state"));
    public static final int MP_STATE_SIZE = (int) MP_STATE.byteSize();

    /** struct kvm_debugregs. */
    public static final StructLayout DEBUGREGS = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(4, JAVA_LONG).withName("db"), JAVA_LONG.withName("dr6"),
            JAVA_LONG.withName("dr7"), JAVA_LONG.withName("flags"),
            MemoryLayout.sequenceLayout(9, JAVA_LONG).withName("reserved"));
    public static final int DEBUGREGS_SIZE = (int) DEBUGREGS.byteSize();

    /** struct kvm_irqchip: chip id (0 PIC master, 1 PIC slave, 2 IOAPIC), then a 512-byte chip state. */
    public static final StructLayout IRQCHIP = MemoryLayout.structLayout(
            JAVA_INT.withName("chip_id"), JAVA_INT.withName("pad"),
            MemoryLayout.sequenceLayout(512, JAVA_BYTE).withName("chip"));
    public static final int IRQCHIP_SIZE = (int) IRQCHIP.byteSize();
    public static final long IRQCHIP_CHIP_OFFSET = 8;
    public static final int IRQCHIP_CHIP_SIZE = 512;

    /** struct kvm_pit_channel_state. */
    public static final StructLayout PIT_CHANNEL_STATE = MemoryLayout.structLayout(
            JAVA_INT.withName("count"), JAVA_SHORT.withName("latched_count"),
            JAVA_BYTE.withName("count_latched"), JAVA_BYTE.withName("status_latched"),
            JAVA_BYTE.withName("status"), JAVA_BYTE.withName("read_state"), JAVA_BYTE.withName("write_state"),
            JAVA_BYTE.withName("write_latch"), JAVA_BYTE.withName("rw_mode"), JAVA_BYTE.withName("mode"),
            JAVA_BYTE.withName("bcd"), JAVA_BYTE.withName("gate"), JAVA_LONG.withName("count_load_time"));
    /** struct kvm_pit_state2: three channels, flags, reserved. */
    public static final StructLayout PIT_STATE2 = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(3, PIT_CHANNEL_STATE).withName("channels"), JAVA_INT.withName("flags"),
            MemoryLayout.sequenceLayout(9, JAVA_INT).withName("reserved"));
    public static final int PIT_STATE2_SIZE = (int) PIT_STATE2.byteSize();

    /** struct kvm_pit_config for KVM_CREATE_PIT2. */
    public static final StructLayout PIT_CONFIG = MemoryLayout.structLayout(
            JAVA_INT.withName("flags"), MemoryLayout.sequenceLayout(15, JAVA_INT).withName("pad"));
    public static final int PIT_CONFIG_SIZE = (int) PIT_CONFIG.byteSize();

    /** struct kvm_clock_data. */
    public static final StructLayout CLOCK_DATA = MemoryLayout.structLayout(
            JAVA_LONG.withName("clock"), JAVA_INT.withName("flags"), JAVA_INT.withName("pad0"),
            JAVA_LONG.withName("realtime"), JAVA_LONG.withName("host_tsc"),
            MemoryLayout.sequenceLayout(4, JAVA_INT).withName("pad"));
    public static final int CLOCK_DATA_SIZE = (int) CLOCK_DATA.byteSize();
    // ---- end of VM state save/restore ----

    /** struct kvm_userspace_memory_region. */
    public static final StructLayout USERSPACE_MEMORY_REGION = MemoryLayout.structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("flags"),
            JAVA_LONG.withName("guest_phys_addr"), JAVA_LONG.withName("memory_size"),
            JAVA_LONG.withName("userspace_addr"));

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
