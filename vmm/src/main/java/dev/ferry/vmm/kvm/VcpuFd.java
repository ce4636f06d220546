package dev.ferry.vmm.kvm;

import dev.ferry.vmm.sys.Libc;

import java.lang.foreign.MemorySegment;

/** A vCPU file descriptor and its shared {@code kvm_run} page. */
public final class VcpuFd implements AutoCloseable {
    private final int fd;
    private final int id;
    private final KvmRun run;

    VcpuFd(int fd, int id, int mmapSize) {
        this.fd = fd;
        this.id = id;
        this.run = new KvmRun(Libc.mmap(mmapSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0));
    }

    public int id() {
        return id;
    }

    public KvmRun run() {
        return run;
    }

    /**
     * KVM_RUN once. Returns 0 when the vCPU exited (read {@link #run()}), or a negative errno when the
     * call was interrupted (-EINTR after a kick), which the run loop treats as a normal event.
     */
    public int runOnce() {
        return Libc.ioctlErrno(fd, "KVM_RUN", KvmIoctl.KVM_RUN, 0L);
    }

    /** KVM_GET_REGS into a segment of layout {@link KvmStructs#REGS}. */
    public void getRegs(MemorySegment regs) {
        Libc.ioctl(fd, "KVM_GET_REGS", KvmIoctl.KVM_GET_REGS, regs);
    }

    public void setRegs(MemorySegment regs) {
        Libc.ioctl(fd, "KVM_SET_REGS", KvmIoctl.KVM_SET_REGS, regs);
    }

    /** KVM_GET_SREGS into a segment of layout {@link KvmStructs#SREGS}. */
    public void getSregs(MemorySegment sregs) {
        Libc.ioctl(fd, "KVM_GET_SREGS", KvmIoctl.KVM_GET_SREGS, sregs);
    }

    public void setSregs(MemorySegment sregs) {
        Libc.ioctl(fd, "KVM_SET_SREGS", KvmIoctl.KVM_SET_SREGS, sregs);
    }

    // ---- VM state save/restore (vCPU, in-kernel irqchip, PIT, clock) ----
    /** KVM_GET_XSAVE into a segment of {@link KvmStructs#XSAVE_SIZE} bytes. */
    public void getXsave(MemorySegment xsave) {
        Libc.ioctl(fd, "KVM_GET_XSAVE", KvmIoctl.KVM_GET_XSAVE, xsave);
    }

    /** KVM_GET_XSAVE2 into a segment of {@link Kvm#xsaveSize()} bytes (KVM_CAP_XSAVE2). */
    public void getXsave2(MemorySegment xsave) {
        Libc.ioctl(fd, "KVM_GET_XSAVE2", KvmIoctl.KVM_GET_XSAVE2, xsave);
    }

    /** KVM_SET_XSAVE from a segment of {@link Kvm#xsaveSize()} bytes: with XSAVE2 KVM reads that many. */
    public void setXsave(MemorySegment xsave) {
        Libc.ioctl(fd, "KVM_SET_XSAVE", KvmIoctl.KVM_SET_XSAVE, xsave);
    }

    /** KVM_GET_XCRS into a segment of layout {@link KvmStructs#XCRS}. */
    public void getXcrs(MemorySegment xcrs) {
        Libc.ioctl(fd, "KVM_GET_XCRS", KvmIoctl.KVM_GET_XCRS, xcrs);
    }

    public void setXcrs(MemorySegment xcrs) {
        Libc.ioctl(fd, "KVM_SET_XCRS", KvmIoctl.KVM_SET_XCRS, xcrs);
    }

    /**
     * KVM_GET_MSRS: {@code msrs} is a {@link KvmStructs#MSRS_HEADER} followed by nmsrs
     * {@link KvmStructs#MSR_ENTRY} entries with their indices filled in. Returns how many entries KVM
     * read; it stops at the first MSR it cannot read.
     */
    public int getMsrs(MemorySegment msrs) {
        return Libc.ioctl(fd, "KVM_GET_MSRS", KvmIoctl.KVM_GET_MSRS, msrs);
    }

    /** KVM_SET_MSRS; returns how many entries KVM wrote; it stops at the first MSR it refuses. */
    public int setMsrs(MemorySegment msrs) {
        return Libc.ioctl(fd, "KVM_SET_MSRS", KvmIoctl.KVM_SET_MSRS, msrs);
    }

    /** KVM_GET_LAPIC into a segment of {@link KvmStructs#LAPIC_STATE_SIZE} bytes. */
    public void getLapic(MemorySegment lapic) {
        Libc.ioctl(fd, "KVM_GET_LAPIC", KvmIoctl.KVM_GET_LAPIC, lapic);
    }

    public void setLapic(MemorySegment lapic) {
        Libc.ioctl(fd, "KVM_SET_LAPIC", KvmIoctl.KVM_SET_LAPIC, lapic);
    }

    /** KVM_GET_VCPU_EVENTS into a segment of layout {@link KvmStructs#VCPU_EVENTS}. */
    public void getVcpuEvents(MemorySegment events) {
        Libc.ioctl(fd, "KVM_GET_VCPU_EVENTS", KvmIoctl.KVM_GET_VCPU_EVENTS, events);
    }

    public void setVcpuEvents(MemorySegment events) {
        Libc.ioctl(fd, "KVM_SET_VCPU_EVENTS", KvmIoctl.KVM_SET_VCPU_EVENTS, events);
    }

    /** KVM_GET_MP_STATE into a segment of layout {@link KvmStructs#MP_STATE}. */
    public void getMpState(MemorySegment mpState) {
        Libc.ioctl(fd, "KVM_GET_MP_STATE", KvmIoctl.KVM_GET_MP_STATE, mpState);
    }

    public void setMpState(MemorySegment mpState) {
        Libc.ioctl(fd, "KVM_SET_MP_STATE", KvmIoctl.KVM_SET_MP_STATE, mpState);
    }

    /** KVM_GET_DEBUGREGS into a segment of layout {@link KvmStructs#DEBUGREGS}. */
    public void getDebugregs(MemorySegment debugregs) {
        Libc.ioctl(fd, "KVM_GET_DEBUGREGS", KvmIoctl.KVM_GET_DEBUGREGS, debugregs);
    }

    public void setDebugregs(MemorySegment debugregs) {
        Libc.ioctl(fd, "KVM_SET_DEBUGREGS", KvmIoctl.KVM_SET_DEBUGREGS, debugregs);
    }
    // ---- end of VM state save/restore ----

    public int fd() {
        return fd;
    }

    @Override
    public void close() {
        Libc.munmap(run.segment());
        Libc.close(fd);
    }
}
