package dev.ferry.vmm.kvm;

/** Capability numbers from linux/kvm.h, for {@link Kvm#checkExtension} and {@link VmFd#enableCap}. */
public final class KvmCap {
    public static final int IRQCHIP = 0;
    public static final int HLT = 1;
    public static final int USER_MEMORY = 3;
    public static final int SET_TSS_ADDR = 4;
    public static final int EXT_CPUID = 7;
    public static final int NR_VCPUS = 9;
    public static final int NR_MEMSLOTS = 10;
    public static final int PIT2 = 33;
    public static final int SET_IDENTITY_MAP_ADDR = 37;
    public static final int MAX_VCPUS = 66;
    public static final int IMMEDIATE_EXIT = 136;
    public static final int MANUAL_DIRTY_LOG_PROTECT2 = 168;

    /** KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE: KVM_GET_DIRTY_LOG stops re-protecting; KVM_CLEAR_DIRTY_LOG does. */
    public static final long DIRTY_LOG_MANUAL_PROTECT_ENABLE = 1;
    /** KVM_DIRTY_LOG_INITIALLY_SET: a slot starts all-dirty and write-enabled when logging turns on. */
    public static final long DIRTY_LOG_INITIALLY_SET = 2;

    private KvmCap() {
    }
}
