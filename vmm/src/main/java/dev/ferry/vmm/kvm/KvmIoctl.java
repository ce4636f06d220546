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

    // Runtime: interrupt controllers, CPUID, signal mask, capabilities, dirty log.
    static final long KVM_GET_SUPPORTED_CPUID = iowr(0x05, KvmStructs.CPUID2_HEADER_SIZE);
    static final long KVM_SET_TSS_ADDR = io(0x47);
    static final long KVM_SET_IDENTITY_MAP_ADDR = iow(0x48, 8);
    static final long KVM_GET_DIRTY_LOG = iow(0x42, KvmStructs.DIRTY_LOG_SIZE);
    static final long KVM_CREATE_IRQCHIP = io(0x60);
    static final long KVM_IRQ_LINE = iow(0x61, KvmStructs.IRQ_LEVEL_SIZE);
    static final long KVM_CREATE_PIT2 = iow(0x77, KvmStructs.PIT_CONFIG_SIZE);
    static final long KVM_SET_SIGNAL_MASK = iow(0x8b, KvmStructs.SIGNAL_MASK_HEADER_SIZE);
    static final long KVM_SET_CPUID2 = iow(0x90, KvmStructs.CPUID2_HEADER_SIZE);
    static final long KVM_ENABLE_CAP = iow(0xa3, KvmStructs.ENABLE_CAP_SIZE);
    static final long KVM_CLEAR_DIRTY_LOG = iowr(0xc0, KvmStructs.CLEAR_DIRTY_LOG_SIZE);

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
