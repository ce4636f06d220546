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
