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

    public int fd() {
        return fd;
    }

    @Override
    public void close() {
        Libc.munmap(run.segment());
        Libc.close(fd);
    }
}
