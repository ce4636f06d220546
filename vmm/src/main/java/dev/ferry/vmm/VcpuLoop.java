package dev.ferry.vmm;

import dev.ferry.vmm.devices.ExitCounters;
import dev.ferry.vmm.devices.IoBus;
import dev.ferry.vmm.kvm.KvmRun;
import dev.ferry.vmm.kvm.KvmStructs;
import dev.ferry.vmm.kvm.VcpuFd;
import dev.ferry.vmm.sys.ThreadSignals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.LockSupport;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One vCPU's run loop on its own platform thread: KVM_RUN, dispatch the exit, repeat, waiting at the
 * {@link RunGate} while the VM is paused.
 *
 * <p>The kick: {@link ThreadSignals#SIGUSR1} is blocked in this thread at all times except inside KVM_RUN
 * (KVM_SET_SIGNAL_MASK), so a {@code tgkill} makes KVM_RUN return EINTR without any handler running in the
 * JVM; the pending signal is then taken with {@code sigtimedwait}. {@code kvm_run.immediate_exit} covers a
 * kick that lands just before KVM_RUN is entered.
 */
final class VcpuLoop implements Runnable {
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final long THROTTLE_PERIOD_NANOS = 10_000_000L;

    private final KvmVm vm;
    private final VcpuFd vcpu;
    private final RunGate gate;
    private final IoBus io;
    private final ExitCounters counters;
    private final CountDownLatch started = new CountDownLatch(1);
    private volatile int tid;
    private volatile Thread thread;
    /** When KVM_RUN last returned; the throttle counts its nap from here. Only the vCPU thread uses it. */
    private long exitNanos;

    VcpuLoop(KvmVm vm, VcpuFd vcpu, RunGate gate, IoBus io, ExitCounters counters) {
        this.vm = vm;
        this.vcpu = vcpu;
        this.gate = gate;
        this.io = io;
        this.counters = counters;
    }

    void start(String vmName) {
        thread = Thread.ofPlatform().name(vmName + "-vcpu" + vcpu.id()).daemon().start(this);
        try {
            started.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting vCPU " + vcpu.id(), e);
        }
    }

    Thread thread() {
        return thread;
    }

    /** Forces the vCPU out of KVM_RUN (or keeps it from entering). Safe from any thread, at any time. */
    void kick() {
        // Under the lock the thread cannot exit between reading tid and tgkill: a stale tid could name
        // another thread of this process, in which SIGUSR1 is not blocked and would kill the JVM.
        synchronized (this) {
            int target = tid;
            if (target == 0) {
                return;
            }
            vcpu.run().setImmediateExit(true);
            ThreadSignals.signalThread(target, ThreadSignals.SIGUSR1);
        }
        counters.increment(ExitCounters.KICKS);
    }

    /** No kick can target this thread afterwards; a kick still pending is taken so it never reaches a handler. */
    private synchronized void retireThreadId() {
        if (tid != 0) {
            tid = 0;
            ThreadSignals.consumePending(ThreadSignals.SIGUSR1);
        }
    }

    @Override
    public void run() {
        try {
            loop();
        } finally {
            retireThreadId();
        }
    }

    private void loop() {
        try {
            long previousMask = ThreadSignals.blockInCurrentThread(ThreadSignals.SIGUSR1);
            vcpu.setSignalMask(previousMask & ~(1L << (ThreadSignals.SIGUSR1 - 1)));
            tid = ThreadSignals.currentThreadId();
        } catch (RuntimeException e) {
            started.countDown();
            vm.stopWithError("vCPU " + vcpu.id() + " could not prepare its kick signal: " + e.getMessage());
            return;
        }
        started.countDown();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = arena.allocate(KvmStructs.REGS);
            KvmRun run = vcpu.run();
            while (gate.enterGuest()) {
                boolean keepGoing;
                boolean interrupted = false;
                try {
                    int rc = vcpu.runOnce();
                    exitNanos = System.nanoTime();
                    run.setImmediateExit(false);
                    if (rc == -EINTR || rc == -EAGAIN) {
                        ThreadSignals.consumePending(ThreadSignals.SIGUSR1);
                        counters.increment(ExitCounters.INTR_EXITS);
                        interrupted = true;
                        keepGoing = true;
                    } else if (rc < 0) {
                        vm.stopWithError("KVM_RUN failed on vCPU " + vcpu.id() + ": errno " + (-rc));
                        keepGoing = false;
                    } else {
                        keepGoing = handleExit(run, regs);
                        if (keepGoing && gate.pauseRequested()) {
                            completePendingInstruction(run);
                        }
                    }
                } finally {
                    gate.leaveGuest();
                }
                if (!keepGoing) {
                    return;
                }
                if (interrupted) {
                    throttleNap();
                }
            }
        } catch (RuntimeException e) {
            vm.stopWithError("vCPU " + vcpu.id() + " failed: " + e);
        }
    }

    /**
     * An IN or MMIO read is finished by the next KVM_RUN, which copies our data into the guest's register.
     * Before parking, run once with immediate_exit set so the vCPU's saved state is complete.
     */
    private void completePendingInstruction(KvmRun run) {
        run.setImmediateExit(true);
        int rc = vcpu.runOnce();
        run.setImmediateExit(false);
        if (rc == -EINTR) {
            ThreadSignals.consumePending(ThreadSignals.SIGUSR1);
        }
    }

    /** Stays out of the guest until percent% of a period has passed since KVM_RUN returned. */
    private void throttleNap() {
        int percent = vm.throttlePercent();
        if (percent <= 0) {
            return;
        }
        long until = exitNanos + THROTTLE_PERIOD_NANOS * percent / 100;
        for (long left = until - System.nanoTime(); left > 0; left = until - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }

    /** Handles one exit; false when the VM stops. */
    private boolean handleExit(KvmRun run, MemorySegment regs) {
        int reason = run.exitReason();
        switch (reason) {
            case KvmRun.EXIT_IO -> {
                counters.increment(ExitCounters.IO_EXITS);
                handleIo(run);
                return vm.runState() != dev.ferry.vm.RunState.STOPPED;
            }
            case KvmRun.EXIT_MMIO -> {
                counters.increment(ExitCounters.MMIO_EXITS);
                if (run.mmioIsWrite()) {
                    counters.increment(ExitCounters.UNKNOWN_MMIO_WRITES);
                } else {
                    counters.increment(ExitCounters.UNKNOWN_MMIO_READS);
                    run.mmioData().fill((byte) 0);
                }
                return true;
            }
            case KvmRun.EXIT_HLT -> {
                counters.increment(ExitCounters.HLT_EXITS);
                vm.stopNormally("guest halted");
                return false;
            }
            case KvmRun.EXIT_SHUTDOWN -> {
                vcpu.getRegs(regs);
                vm.stopWithError(String.format("triple fault (KVM_EXIT_SHUTDOWN) at rip=0x%x on vCPU %d",
                        regs.get(JAVA_LONG, 16 * 8), vcpu.id()));
                return false;
            }
            case KvmRun.EXIT_FAIL_ENTRY -> {
                vm.stopWithError(String.format("KVM_EXIT_FAIL_ENTRY on vCPU %d: hardware entry failure reason 0x%x",
                        vcpu.id(), run.failEntryReason()));
                return false;
            }
            case KvmRun.EXIT_INTERNAL_ERROR -> {
                vcpu.getRegs(regs);
                int suberror = run.internalErrorSuberror();
                StringBuilder data = new StringBuilder();
                for (int i = 0; i < Math.min(run.internalErrorDataCount(), 16); i++) {
                    data.append(i == 0 ? ", data" : "").append(String.format(" 0x%x", run.internalErrorData(i)));
                }
                vm.stopWithError(String.format("KVM_EXIT_INTERNAL_ERROR (%s, suberror %d) at rip=0x%x on vCPU %d%s",
                        internalErrorName(suberror), suberror, regs.get(JAVA_LONG, 16 * 8), vcpu.id(), data));
                return false;
            }
            case KvmRun.EXIT_SYSTEM_EVENT -> {
                int type = run.systemEventType();
                switch (type) {
                    case 1 -> vm.stopNormally("guest shut down (KVM_SYSTEM_EVENT_SHUTDOWN)");
                    case 2 -> vm.stopNormally("guest requested reset (KVM_SYSTEM_EVENT_RESET)");
                    case 3 -> vm.stopWithError("guest crashed (KVM_SYSTEM_EVENT_CRASH)");
                    default -> vm.stopWithError("KVM_EXIT_SYSTEM_EVENT of type " + type);
                }
                return false;
            }
            case KvmRun.EXIT_INTR -> {
                counters.increment(ExitCounters.INTR_EXITS);
                return true;
            }
            default -> {
                vm.stopWithError("unhandled KVM exit reason " + reason + " on vCPU " + vcpu.id());
                return false;
            }
        }
    }

    private static String internalErrorName(int suberror) {
        return switch (suberror) {
            case 1 -> "instruction emulation failed";
            case 2 -> "exception while delivering an exception";
            case 3 -> "event delivery failed";
            case 4 -> "unexpected exit reason";
            default -> "unknown";
        };
    }

    private void handleIo(KvmRun run) {
        int size = run.ioSize();
        int port = run.ioPort();
        MemorySegment data = run.ioData();
        int count = run.ioCount();
        boolean out = run.ioDirection() == KvmRun.IO_DIRECTION_OUT;
        for (int i = 0; i < count; i++) {
            long at = (long) i * size;
            if (out) {
                io.write(port, size, read(data, at, size));
            } else {
                write(data, at, size, io.read(port, size));
            }
        }
    }

    private static int read(MemorySegment data, long at, int size) {
        return switch (size) {
            case 1 -> data.get(JAVA_BYTE, at) & 0xff;
            case 2 -> data.get(JAVA_SHORT.withByteAlignment(1), at) & 0xffff;
            default -> data.get(JAVA_INT.withByteAlignment(1), at);
        };
    }

    private static void write(MemorySegment data, long at, int size, int value) {
        switch (size) {
            case 1 -> data.set(JAVA_BYTE, at, (byte) value);
            case 2 -> data.set(JAVA_SHORT.withByteAlignment(1), at, (short) value);
            default -> data.set(JAVA_INT.withByteAlignment(1), at, value);
        }
    }
}
