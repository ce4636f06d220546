package dev.ferry.vmm.kvm;

import dev.ferry.vmm.sys.Libc;
import dev.ferry.vmm.sys.SyscallException;

/** The system file descriptor, {@code /dev/kvm}: API version, capabilities, VM creation. */
public final class Kvm implements AutoCloseable {
    public static final String DEVICE = "/dev/kvm";
    /** The only stable KVM API version there has ever been. */
    public static final int EXPECTED_API_VERSION = 12;

    private static final int E2BIG = 7;

    private final int fd;

    private Kvm(int fd) {
        this.fd = fd;
    }

    /** Opens {@code /dev/kvm} and refuses a kernel whose API version is not {@value #EXPECTED_API_VERSION}. */
    public static Kvm open() {
        Kvm kvm = new Kvm(Libc.open(DEVICE, Libc.O_RDWR | Libc.O_CLOEXEC));
        int version = kvm.apiVersion();
        if (version != EXPECTED_API_VERSION) {
            kvm.close();
            throw new IllegalStateException("KVM API version " + version + " is not the expected " + EXPECTED_API_VERSION);
        }
        return kvm;
    }

    public int apiVersion() {
        return Libc.ioctl(fd, "KVM_GET_API_VERSION", KvmIoctl.KVM_GET_API_VERSION, 0L);
    }

    /** KVM_CHECK_EXTENSION: 0 when the capability is absent, otherwise a capability-specific positive value. */
    public int checkExtension(int capability) {
        return Libc.ioctl(fd, "KVM_CHECK_EXTENSION", KvmIoctl.KVM_CHECK_EXTENSION, capability);
    }

    public int vcpuMmapSize() {
        return Libc.ioctl(fd, "KVM_GET_VCPU_MMAP_SIZE", KvmIoctl.KVM_GET_VCPU_MMAP_SIZE, 0L);
    }

    public VmFd createVm() {
        int vmFd = Libc.ioctl(fd, "KVM_CREATE_VM", KvmIoctl.KVM_CREATE_VM, 0L);
        return new VmFd(this, vmFd);
    }

    int fd() {
        return fd;
    }

    @Override
    public void close() {
        Libc.close(fd);
    }

    // ---- runtime ioctls ----

    /**
     * KVM_GET_SUPPORTED_CPUID: the CPUID leaves this host can give a guest. Retries with a larger table while
     * the kernel answers E2BIG.
     */
    public Cpuid supportedCpuid() {
        for (int capacity = 64; ; capacity *= 2) {
            Cpuid cpuid = new Cpuid(capacity);
            int rc = Libc.ioctlErrno(fd, "KVM_GET_SUPPORTED_CPUID", KvmIoctl.KVM_GET_SUPPORTED_CPUID,
                    cpuid.segment().address());
            if (rc >= 0) {
                return cpuid;
            }
            cpuid.close();
            if (rc != -E2BIG || capacity >= 4096) {
                throw new SyscallException("ioctl KVM_GET_SUPPORTED_CPUID", -rc);
            }
        }
    }

    /** Throws naming the capability when the kernel lacks it. */
    public void requireExtension(int capability, String name) {
        if (checkExtension(capability) <= 0) {
            throw new IllegalStateException("KVM lacks " + name + " (capability " + capability + ")");
        }
    }
}
