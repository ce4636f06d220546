package dev.ferry.vmm.kvm;

import dev.ferry.vmm.sys.Libc;
import dev.ferry.vmm.sys.SyscallException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/** The system file descriptor, {@code /dev/kvm}: API version, capabilities, VM creation. */
public final class Kvm implements AutoCloseable {
    public static final String DEVICE = "/dev/kvm";
    /** The only stable KVM API version there has ever been. */
    public static final int EXPECTED_API_VERSION = 12;

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

    // ---- VM state save/restore (vCPU, in-kernel irqchip, PIT, clock) ----
    /** KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) answers the XSAVE buffer size the vCPUs need. */
    private static final int CAP_XSAVE2 = 208;

    /**
     * KVM_GET_MSR_INDEX_LIST: the MSRs KVM can save and restore for a guest. Asked first with room for
     * none, KVM answers E2BIG and the count, then the list.
     */
    public int[] msrIndexList() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment probe = arena.allocate(KvmStructs.MSR_LIST_HEADER);
            int rc = Libc.ioctlErrno(fd, "KVM_GET_MSR_INDEX_LIST", KvmIoctl.KVM_GET_MSR_INDEX_LIST, probe.address());
            int count = probe.get(JAVA_INT, 0);
            int tooBig = 7; // E2BIG: the expected answer to a list with room for nothing
            if (rc < 0 && -rc != tooBig) {
                throw new SyscallException("ioctl KVM_GET_MSR_INDEX_LIST", -rc);
            }
            MemorySegment list = arena.allocate(KvmStructs.MSR_LIST_HEADER_SIZE + 4L * count, 8);
            list.set(JAVA_INT, 0, count);
            Libc.ioctl(fd, "KVM_GET_MSR_INDEX_LIST", KvmIoctl.KVM_GET_MSR_INDEX_LIST, list);
            int returned = list.get(JAVA_INT, 0);
            return list.asSlice(KvmStructs.MSR_LIST_HEADER_SIZE, 4L * returned).toArray(JAVA_INT);
        }
    }

    /**
     * Bytes of a vCPU's XSAVE state: KVM_CAP_XSAVE2's answer where the kernel has it (it may exceed the
     * legacy 4096 bytes, e.g. with AMX), else the legacy size of {@code struct kvm_xsave}.
     */
    public int xsaveSize() {
        int size = checkExtension(CAP_XSAVE2);
        return Math.max(size, KvmStructs.XSAVE_SIZE);
    }
    // ---- end of VM state save/restore ----

    int fd() {
        return fd;
    }

    @Override
    public void close() {
        Libc.close(fd);
    }
}
