package dev.ferry.vmm.state;

import dev.ferry.vmm.kvm.Kvm;
import dev.ferry.vmm.kvm.KvmRun;
import dev.ferry.vmm.kvm.KvmStructs;
import dev.ferry.vmm.kvm.VcpuFd;
import dev.ferry.vmm.kvm.VmFd;
import dev.ferry.vmm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A one-vCPU PC-like test VM on the real KVM: in-kernel irqchip and PIT, 64 KiB of RAM at 0, and a
 * real-mode program at {@link #CODE}. Its programs report through two ports: 0xE9 (a value the test
 * reads) and 0xE8 (a heartbeat, so a test can bound how long it waits without a clock).
 */
final class RealModeMachine implements AutoCloseable {
    static final long MEMORY_SIZE = 0x10000;
    static final long CODE = 0x1000;
    static final int DEBUG_PORT = 0xE9;
    static final int HEARTBEAT_PORT = 0xE8;
    static final int NO_OUTPUT = -1;

    final VmFd vm;
    /** The boot vCPU, the one that runs the program; any others wait for a SIPI that never comes. */
    final VcpuFd vcpu;
    final List<VcpuFd> vcpus;
    final MemorySegment memory;

    private RealModeMachine(Kvm kvm, int vcpuCount) {
        this.vm = kvm.createVm();
        vm.createIrqchip();
        vm.createPit2(VmFd.PIT_SPEAKER_DUMMY);
        this.memory = Libc.mmap(MEMORY_SIZE, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        vm.setUserMemoryRegion(0, 0, 0, memory);
        List<VcpuFd> created = new java.util.ArrayList<>();
        for (int id = 0; id < vcpuCount; id++) {
            created.add(vm.createVcpu(id));
        }
        this.vcpus = List.copyOf(created);
        this.vcpu = vcpus.getFirst();
    }

    /** A machine about to run {@code program} in real mode from {@link #CODE}. */
    static RealModeMachine booting(Kvm kvm, byte[] program) {
        return booting(kvm, program, 1);
    }

    static RealModeMachine booting(Kvm kvm, byte[] program, int vcpuCount) {
        RealModeMachine machine = new RealModeMachine(kvm, vcpuCount);
        MemorySegment.copy(MemorySegment.ofArray(program), 0, machine.memory, CODE, program.length);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sregs = arena.allocate(KvmStructs.SREGS);
            machine.vcpu.getSregs(sregs);
            sregs.set(JAVA_LONG, 0, 0L); // cs.base
            sregs.set(JAVA_SHORT, 12, (short) 0); // cs.selector
            machine.vcpu.setSregs(sregs);
            MemorySegment regs = arena.allocate(KvmStructs.REGS);
            machine.vcpu.getRegs(regs);
            regs.set(JAVA_LONG, 16 * 8, CODE); // rip
            regs.set(JAVA_LONG, 17 * 8, 0x2L); // rflags: bit 1 is always set
            machine.vcpu.setRegs(regs);
        }
        return machine;
    }

    /** A fresh machine holding a copy of {@code source}'s RAM, waiting for a state restore. */
    static RealModeMachine withMemoryOf(Kvm kvm, RealModeMachine source) {
        RealModeMachine machine = new RealModeMachine(kvm, source.vcpus.size());
        MemorySegment.copy(source.memory, 0, machine.memory, 0, MEMORY_SIZE);
        return machine;
    }

    List<VcpuFd> vcpus() {
        return vcpus;
    }

    /**
     * Runs until the program writes a byte to {@link #DEBUG_PORT} and returns it, or returns
     * {@link #NO_OUTPUT} after {@code heartbeats} heartbeats without one.
     */
    int nextDebugByte(int heartbeats) {
        KvmRun run = vcpu.run();
        int seen = 0;
        while (true) {
            int rc = vcpu.runOnce();
            if (rc != 0) {
                throw new IllegalStateException("KVM_RUN failed with errno " + -rc);
            }
            if (run.exitReason() != KvmRun.EXIT_IO || run.ioDirection() != KvmRun.IO_DIRECTION_OUT) {
                throw new IllegalStateException("unexpected exit " + run.exitReason() + " at rip 0x"
                        + Long.toHexString(rip()));
            }
            if (run.ioPort() == DEBUG_PORT) {
                return run.ioData().get(JAVA_BYTE, 0) & 0xFF;
            }
            if (run.ioPort() != HEARTBEAT_PORT) {
                throw new IllegalStateException("unexpected OUT to port 0x" + Integer.toHexString(run.ioPort()));
            }
            if (++seen >= heartbeats) {
                return NO_OUTPUT;
            }
        }
    }

    long rip() {
        return register(16);
    }

    long register(int index) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = arena.allocate(KvmStructs.REGS);
            vcpu.getRegs(regs);
            return regs.get(JAVA_LONG, index * 8L);
        }
    }

    @Override
    public void close() {
        vcpus.forEach(VcpuFd::close);
        vm.close();
        Libc.munmap(memory);
    }
}
