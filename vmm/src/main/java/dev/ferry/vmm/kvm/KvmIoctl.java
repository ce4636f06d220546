package dev.ferry.vmm.kvm;

/** ioctl request numbers from linux/kvm.h, computed with the kernel's _IO/_IOR/_IOW/_IOWR encoding. */
final class KvmIoctl {
    private static final int KVMIO = 0xAE;

    static final long KVM_GET_API_VERSION = io(0x00);
    static final long KVM_CREATE_VM = io(0x01);
    static final long KVM_CHECK_EXTENSION = io(0x03);
    static final long KVM_GET_VCPU_MMAP_SIZE = io(0x04);

    static final long KVM_CREATE_VCPU = io(0x41);
    static final long KVM_SET_USER_MEMORY_REGION = iow(0x46, 32);

    static final long KVM_RUN = io(0x80);
    static final long KVM_GET_REGS = ior(0x81, KvmStructs.REGS_SIZE);
    static final long KVM_SET_REGS = iow(0x82, KvmStructs.REGS_SIZE);
    static final long KVM_GET_SREGS = ior(0x83, KvmStructs.SREGS_SIZE);
    static final long KVM_SET_SREGS = iow(0x84, KvmStructs.SREGS_SIZE);

    // ---- VM state save/restore (vCPU, in-kernel irqchip, PIT, clock) ----
    // Numbers checked against linux/kvm.h and asm/kvm.h (x86-64).
    static final long KVM_GET_MSR_INDEX_LIST = iowr(0x02, KvmStructs.MSR_LIST_HEADER_SIZE);
    static final long KVM_CREATE_IRQCHIP = io(0x60);
    static final long KVM_GET_IRQCHIP = iowr(0x62, KvmStructs.IRQCHIP_SIZE);
    /** Declared _IOR in linux/kvm.h although it writes to the kernel; the number must match the header. */
    static final long KVM_SET_IRQCHIP = ior(0x63, KvmStructs.IRQCHIP_SIZE);
    static final long KVM_CREATE_PIT2 = iow(0x77, KvmStructs.PIT_CONFIG_SIZE);
    static final long KVM_SET_CLOCK = iow(0x7b, KvmStructs.CLOCK_DATA_SIZE);
    static final long KVM_GET_CLOCK = ior(0x7c, KvmStructs.CLOCK_DATA_SIZE);
    static final long KVM_GET_PIT2 = ior(0x9f, KvmStructs.PIT_STATE2_SIZE);
    static final long KVM_SET_PIT2 = iow(0xa0, KvmStructs.PIT_STATE2_SIZE);
    static final long KVM_GET_MSRS = iowr(0x88, KvmStructs.MSRS_HEADER_SIZE);
    static final long KVM_SET_MSRS = iow(0x89, KvmStructs.MSRS_HEADER_SIZE);
    static final long KVM_GET_LAPIC = ior(0x8e, KvmStructs.LAPIC_STATE_SIZE);
    static final long KVM_SET_LAPIC = iow(0x8f, KvmStructs.LAPIC_STATE_SIZE);
    static final long KVM_GET_MP_STATE = ior(0x98, KvmStructs.MP_STATE_SIZE);
    static final long KVM_SET_MP_STATE = iow(0x99, KvmStructs.MP_STATE_SIZE);
    static final long KVM_GET_VCPU_EVENTS = ior(0x9f, KvmStructs.VCPU_EVENTS_SIZE);
    static final long KVM_SET_VCPU_EVENTS = iow(0xa0, KvmStructs.VCPU_EVENTS_SIZE);
    static final long KVM_GET_DEBUGREGS = ior(0xa1, KvmStructs.DEBUGREGS_SIZE);
    static final long KVM_SET_DEBUGREGS = iow(0xa2, KvmStructs.DEBUGREGS_SIZE);
    static final long KVM_GET_XSAVE = ior(0xa4, KvmStructs.XSAVE_SIZE);
    static final long KVM_SET_XSAVE = iow(0xa5, KvmStructs.XSAVE_SIZE);
    static final long KVM_GET_XCRS = ior(0xa6, KvmStructs.XCRS_SIZE);
    static final long KVM_SET_XCRS = iow(0xa7, KvmStructs.XCRS_SIZE);
    static final long KVM_GET_XSAVE2 = ior(0xcf, KvmStructs.XSAVE_SIZE);
    // ---- end of VM state save/restore ----

    private KvmIoctl() {
    }

    static long io(int nr) {
        return ((long) KVMIO << 8) | nr;
    }

    static long ior(int nr, int size) {
        return (2L << 30) | ((long) size << 16) | ((long) KVMIO << 8) | nr;
    }

    static long iow(int nr, int size) {
        return (1L << 30) | ((long) size << 16) | ((long) KVMIO << 8) | nr;
    }

    static long iowr(int nr, int size) {
        return (3L << 30) | ((long) size << 16) | ((long) KVMIO << 8) | nr;
    }
}
