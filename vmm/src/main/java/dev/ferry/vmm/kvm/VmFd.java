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

    // ---- VM state save/restore (vCPU, in-kernel irqchip, PIT, clock) ----
    /** kvm_irqchip chip ids. */
    public static final int IRQCHIP_PIC_MASTER = 0;
    public static final int IRQCHIP_PIC_SLAVE = 1;
    public static final int IRQCHIP_IOAPIC = 2;
    /** kvm_pit_config flag: emulate the PC speaker port 0x61 as a dummy inside KVM. */
    public static final int PIT_SPEAKER_DUMMY = 1;

    /** KVM_CREATE_IRQCHIP: in-kernel PIC pair, IOAPIC and per-vCPU LAPICs; call before creating vCPUs. */
    public void createIrqchip() {
        Libc.ioctl(fd, "KVM_CREATE_IRQCHIP", KvmIoctl.KVM_CREATE_IRQCHIP, 0L);
    }

    /** KVM_CREATE_PIT2: the in-kernel i8254, after {@link #createIrqchip()}. */
    public void createPit2(int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment config = arena.allocate(KvmStructs.PIT_CONFIG);
            config.set(JAVA_INT, 0, flags);
            Libc.ioctl(fd, "KVM_CREATE_PIT2", KvmIoctl.KVM_CREATE_PIT2, config);
        }
    }

    /** KVM_GET_IRQCHIP into a segment of layout {@link KvmStructs#IRQCHIP}; its chip_id says which chip. */
    public void getIrqchip(MemorySegment irqchip) {
        Libc.ioctl(fd, "KVM_GET_IRQCHIP", KvmIoctl.KVM_GET_IRQCHIP, irqchip);
    }

    public void setIrqchip(MemorySegment irqchip) {
        Libc.ioctl(fd, "KVM_SET_IRQCHIP", KvmIoctl.KVM_SET_IRQCHIP, irqchip);
    }

    /** KVM_GET_PIT2 into a segment of layout {@link KvmStructs#PIT_STATE2}. */
    public void getPit2(MemorySegment pitState) {
        Libc.ioctl(fd, "KVM_GET_PIT2", KvmIoctl.KVM_GET_PIT2, pitState);
    }

    public void setPit2(MemorySegment pitState) {
        Libc.ioctl(fd, "KVM_SET_PIT2", KvmIoctl.KVM_SET_PIT2, pitState);
    }

    /** KVM_GET_CLOCK (kvmclock) into a segment of layout {@link KvmStructs#CLOCK_DATA}. */
    public void getClock(MemorySegment clockData) {
        Libc.ioctl(fd, "KVM_GET_CLOCK", KvmIoctl.KVM_GET_CLOCK, clockData);
    }

    public void setClock(MemorySegment clockData) {
        Libc.ioctl(fd, "KVM_SET_CLOCK", KvmIoctl.KVM_SET_CLOCK, clockData);
    }
    // ---- end of VM state save/restore ----

    public int fd() {
        return fd;
    }

    @Override
    public void close() {
        Libc.close(fd);
    }
}
