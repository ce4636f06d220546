package dev.ferry.vmm.kvm;

import dev.ferry.vmm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** A VM file descriptor: memory slots, vCPU creation and VM-wide state. */
public final class VmFd implements AutoCloseable {
    /** KVM_MEM_LOG_DIRTY_PAGES for {@link #setUserMemoryRegion}. */
    public static final int MEM_LOG_DIRTY_PAGES = 1;

    private final Kvm kvm;
    private final int fd;

    VmFd(Kvm kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
    }

    /** KVM_SET_USER_MEMORY_REGION: maps {@code host} at guest-physical {@code guestPhysAddr} in {@code slot}. */
    public void setUserMemoryRegion(int slot, int flags, long guestPhysAddr, MemorySegment host) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = arena.allocate(KvmStructs.USERSPACE_MEMORY_REGION);
            region.set(JAVA_INT, 0, slot);
            region.set(JAVA_INT, 4, flags);
            region.set(JAVA_LONG, 8, guestPhysAddr);
            region.set(JAVA_LONG, 16, host.byteSize());
            region.set(JAVA_LONG, 24, host.address());
            Libc.ioctl(fd, "KVM_SET_USER_MEMORY_REGION", KvmIoctl.KVM_SET_USER_MEMORY_REGION, region);
        }
    }

    public VcpuFd createVcpu(int id) {
        int vcpuFd = Libc.ioctl(fd, "KVM_CREATE_VCPU", KvmIoctl.KVM_CREATE_VCPU, id);
        return new VcpuFd(vcpuFd, id, kvm.vcpuMmapSize());
    }

    public int fd() {
        return fd;
    }

    @Override
    public void close() {
        Libc.close(fd);
    }
}
