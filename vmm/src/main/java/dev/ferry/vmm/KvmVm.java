package dev.ferry.vmm;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.dirty.DirtyLogPort;
import dev.ferry.dirty.DirtyTracker;
import dev.ferry.dirty.KvmDirtyLogTracker;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.HeartbeatRing;
import dev.ferry.vm.Heartbeats;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RamRegion;
import dev.ferry.vm.RunState;
import dev.ferry.vm.VmShape;
import dev.ferry.vmm.devices.A20Gate;
import dev.ferry.vmm.state.DeviceStateCodec;
import dev.ferry.vmm.state.VmState;
import dev.ferry.vmm.state.VmStateCodec;
import dev.ferry.vmm.state.VmStateSnapshotter;
import dev.ferry.vmm.devices.DebugPort;
import dev.ferry.vmm.devices.ExitCounters;
import dev.ferry.vmm.devices.I8042;
import dev.ferry.vmm.devices.IoBus;
import dev.ferry.vmm.devices.PostPort;
import dev.ferry.vmm.devices.Uart16550;
import dev.ferry.vmm.kvm.Cpuid;
import dev.ferry.vmm.kvm.Kvm;
import dev.ferry.vmm.kvm.KvmCap;
import dev.ferry.vmm.kvm.VcpuFd;
import dev.ferry.vmm.kvm.VmFd;
import dev.ferry.vmm.memory.GuestMemory;
import dev.ferry.vmm.memory.KvmDirtyLogPort;
import dev.ferry.vmm.memory.PreallocatedMemory;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A VM on the real {@code /dev/kvm}: in-kernel PIC/IOAPIC/LAPIC and PIT, guest RAM, one platform thread
 * per vCPU, the legacy PC devices on the I/O bus. Lifecycle: CREATED, then {@link #resume()} starts the
 * vCPUs (RUNNING), {@link #pause()}/{@link #resume()} switch RUNNING and PAUSED, and the guest (halt,
 * triple fault, reset) or {@link #stop}/{@link #close()} ends it in STOPPED.
 */
public final class KvmVm implements MigratableVm {
    /** Where KVM puts the three pages Intel VMX needs for real mode: just below the BIOS, inside the MMIO hole. */
    public static final long TSS_ADDRESS = 0xfffbd000L;
    public static final long IDENTITY_MAP_ADDRESS = 0xfffbc000L;
    public static final String KIND = "kvm";
    /** Heartbeats kept: about 17 minutes of a 1 kHz guest's. */
    private static final int HEARTBEAT_CAPACITY = 1 << 20;

    private final VmConfig config;
    private final Kvm kvm;
    private final VmFd vmFd;
    private final GuestMemory memory;
    private final boolean manualDirtyProtect;
    private final KvmDirtyLogPort dirtyLogPort;
    private final Cpuid cpuid;
    private final List<VcpuFd> vcpus = new ArrayList<>();
    private final List<VcpuLoop> loops = new ArrayList<>();
    private final RunGate gate = new RunGate();
    private final ExitCounters counters = new ExitCounters();
    private final HeartbeatRing heartbeats = new HeartbeatRing(HEARTBEAT_CAPACITY);
    private final IoBus io = new IoBus(counters);
    private final Uart16550 uart;
    private final I8042 i8042;
    private final A20Gate a20Gate = new A20Gate();
    private final VmShape shape;
    /** Serializes pause, resume and throttle; never taken by a vCPU thread, so it may wait for them. */
    private final Object control = new Object();
    /** Guards the state and stop reason; held only briefly, vCPU threads take it when the guest stops the VM. */
    private final Object lifecycle = new Object();
    private volatile RunState state = RunState.CREATED;
    private String stopReason;
    private boolean stoppedByError;
    private volatile int throttlePercent;
    private ScheduledExecutorService throttleClock;
    private ScheduledFuture<?> throttleTick;
    private final KvmDirtyLogTracker tracker;
    private boolean closed;
    /** The process's snapshotter (see {@link KvmOffer}), fetched on first use. */
    private VmStateSnapshotter snapshotter;

    private KvmVm(VmConfig config, PreallocatedMemory reserve) {
        this.config = config;
        this.kvm = Kvm.open();
        VmFd vm = null;
        GuestMemory mem = null;
        Cpuid table = null;
        try {
            kvm.requireExtension(KvmCap.IRQCHIP, "KVM_CAP_IRQCHIP");
            kvm.requireExtension(KvmCap.PIT2, "KVM_CAP_PIT2");
            kvm.requireExtension(KvmCap.USER_MEMORY, "KVM_CAP_USER_MEMORY");
            kvm.requireExtension(KvmCap.EXT_CPUID, "KVM_CAP_EXT_CPUID");
            kvm.requireExtension(KvmCap.IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT");
            vm = kvm.createVm();
            if (kvm.checkExtension(KvmCap.SET_TSS_ADDR) > 0) {
                vm.setTssAddr(TSS_ADDRESS);
            }
            if (kvm.checkExtension(KvmCap.SET_IDENTITY_MAP_ADDR) > 0) {
                vm.setIdentityMapAddr(IDENTITY_MAP_ADDRESS);
            }
            vm.createIrqchip();
            vm.createPit2(0);
            boolean manual = false;
            if ((kvm.checkExtension(KvmCap.MANUAL_DIRTY_LOG_PROTECT2) & 3) == 3) {
                vm.enableCap(KvmCap.MANUAL_DIRTY_LOG_PROTECT2,
                        KvmCap.DIRTY_LOG_MANUAL_PROTECT_ENABLE | KvmCap.DIRTY_LOG_INITIALLY_SET);
                manual = true;
            }
            this.manualDirtyProtect = manual;
            mem = GuestMemory.create(vm, config.memoryBytes(), reserve);
            table = KvmOffer.supportedCpuid(kvm);
            for (int id = 0; id < config.vcpus(); id++) {
                VcpuFd vcpu = vm.createVcpu(id);
                vcpus.add(vcpu);
                try (Cpuid own = table.copy()) {
                    own.setApicId(id);
                    vcpu.setCpuid2(own);
                }
            }
        } catch (RuntimeException e) {
            vcpus.forEach(VcpuFd::close);
            if (table != null) {
                table.close();
            }
            if (vm != null) {
                vm.close();
            }
            if (mem != null) {
                mem.close();
            }
            kvm.close();
            throw e;
        }
        this.vmFd = vm;
        this.memory = mem;
        this.cpuid = table;
        this.dirtyLogPort = new KvmDirtyLogPort(memory, manualDirtyProtect);
        this.tracker = new KvmDirtyLogTracker(dirtyLogPort);
        memory.onHostWrite(tracker::recordHostWrite);
        this.uart = new Uart16550(Uart16550.COM1, config.serial(), heartbeats, counters,
                high -> vmFd.irqLine(Uart16550.COM1_IRQ, high));
        this.i8042 = new I8042(this::stopNormally);
        io.register(Uart16550.COM1, Uart16550.PORTS, uart);
        io.register(DebugPort.PORT, 1, new DebugPort(config.debugConsole(), counters));
        io.register(PostPort.PORT, 1, new PostPort());
        io.register(A20Gate.PORT, 1, a20Gate);
        io.register(I8042.DATA_PORT, 1, i8042);
        io.register(I8042.STATUS_PORT, 1, i8042);
        for (VcpuFd vcpu : vcpus) {
            loops.add(new VcpuLoop(this, vcpu, gate, io, counters));
        }
        this.shape = new VmShape(memory.ram().stream().map(GuestRam::region).toList(), config.vcpus(),
                KvmOffer.cpuFeatures(), KIND);
    }

    /**
     * Builds the VM and loads its boot source. The vCPU threads start now, parked at the closed gate, so
     * the first {@link #resume()} (a migration destination's switchover) only opens it.
     */
    public static KvmVm create(VmConfig config) {
        return create(config, null);
    }

    /** As {@link #create(VmConfig)}, with its RAM taken from {@code reserve} (may be null) when that fits. */
    public static KvmVm create(VmConfig config, PreallocatedMemory reserve) {
        KvmVm vm = new KvmVm(config, reserve);
        try {
            config.boot().load(vm.memory, vm.vcpus.getFirst(), config.commandLine());
            for (VcpuLoop loop : vm.loops) {
                loop.start(config.name());
            }
            synchronized (vm.control) {
                vm.snapshotter();
            }
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
        return vm;
    }

    public VmConfig config() {
        return config;
    }

    public GuestMemory memory() {
        return memory;
    }

    /** The VM file descriptor, for the state save/restore ioctls. */
    public VmFd vmFd() {
        return vmFd;
    }

    /** The vCPU file descriptors, by id. */
    public List<VcpuFd> vcpus() {
        return List.copyOf(vcpus);
    }

    /** The dirty-log ioctls over this VM's memory slots. */
    public DirtyLogPort dirtyLogPort() {
        return dirtyLogPort;
    }

    /** Whether KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (with initially-set) is enabled on this VM. */
    public boolean manualDirtyProtect() {
        return manualDirtyProtect;
    }

    public Uart16550 uart() {
        return uart;
    }

    public I8042 i8042() {
        return i8042;
    }

    public A20Gate a20Gate() {
        return a20Gate;
    }

    @Override
    public VmShape shape() {
        return shape;
    }

    @Override
    public List<GuestRam> ram() {
        return memory.ram();
    }

    @Override
    public void possiblyNonZeroPages(DirtyBitmap into) {
        memory.residentPages(into);
    }

    @Override
    public void backPages(long firstPage, long pages) {
        memory.backPages(firstPage, pages);
    }

    /** KVM's dirty log behind the engine's tracker; the VMM's own writes reach it through {@link GuestMemory}. */
    @Override
    public DirtyTracker dirtyTracker() {
        return tracker;
    }

    @Override
    public RunState runState() {
        return state;
    }

    @Override
    public void pause() {
        synchronized (control) {
            if (state != RunState.RUNNING) {
                return;
            }
            // Not under the lifecycle lock: a vCPU that stops the VM meanwhile must be able to take it.
            gate.pause(this::kickAll);
            synchronized (lifecycle) {
                if (state == RunState.RUNNING) {
                    state = RunState.PAUSED;
                    lifecycle.notifyAll();
                }
            }
        }
    }

    @Override
    public void resume() {
        synchronized (control) {
            RunState now = state;
            if (now == RunState.RUNNING) {
                return;
            }
            if (now == RunState.STOPPED) {
                throw new IllegalStateException("VM " + config.name() + " is stopped: " + stopReason().orElse(""));
            }
            synchronized (lifecycle) {
                if (state == RunState.STOPPED) {
                    throw new IllegalStateException("VM " + config.name() + " is stopped: " + stopReason);
                }
                state = RunState.RUNNING;
                lifecycle.notifyAll();
            }
            gate.open();
        }
    }

    @Override
    public void throttle(int percent) {
        if (percent < 0 || percent > 99) {
            throw new IllegalArgumentException("throttle is 0..99 percent, not " + percent);
        }
        synchronized (control) {
            throttlePercent = percent;
            if (percent == 0) {
                if (throttleTick != null) {
                    throttleTick.cancel(false);
                    throttleTick = null;
                }
                return;
            }
            if (throttleTick == null) {
                if (throttleClock == null) {
                    throttleClock = Executors.newSingleThreadScheduledExecutor(
                            Thread.ofPlatform().daemon().name(config.name() + "-throttle").factory());
                }
                // Every period each vCPU is kicked out and naps percent% of the period before re-entering.
                throttleTick = throttleClock.scheduleAtFixedRate(this::kickAll, 0, 10, TimeUnit.MILLISECONDS);
            }
        }
    }

    int throttlePercent() {
        return throttlePercent;
    }

    /**
     * The vCPUs, in-kernel irqchip, PIT, clock and devices in the versioned format of
     * {@link dev.ferry.vmm.state}. Only while paused (or created and not yet resumed): the parked vCPU
     * threads have completed any pending I/O instruction, so the capture need not re-enter KVM_RUN from
     * this thread.
     */
    @Override
    public byte[] saveState() {
        synchronized (control) {
            if (state != RunState.PAUSED && state != RunState.CREATED) {
                throw new IllegalStateException("VM state can be saved only while paused, not " + state);
            }
            List<DeviceStateCodec> devices = DeviceStates.of(uart, i8042, a20Gate);
            VmState captured = snapshotter().captureParked(vmFd, vcpus, devices);
            return new VmStateCodec(devices).encode(captured);
        }
    }

    /** Loads a state saved by {@link #saveState()} on a VM of the same shape; only before the first resume. */
    @Override
    public void loadState(byte[] bytes) {
        synchronized (control) {
            if (state != RunState.CREATED && state != RunState.PAUSED) {
                throw new IllegalStateException("VM state can be loaded only before the VM runs, not while " + state);
            }
            List<DeviceStateCodec> devices = DeviceStates.of(uart, i8042, a20Gate);
            VmState decoded = new VmStateCodec(devices).decode(bytes);
            snapshotter().restore(decoded, vmFd, vcpus, devices);
        }
    }

    /** Created with the first vCPU's MSR probe done, so no save or load inside a downtime pays for it. */
    private VmStateSnapshotter snapshotter() {
        if (snapshotter == null) {
            snapshotter = KvmOffer.snapshotter(kvm, vcpus.getFirst());
        }
        return snapshotter;
    }

    @Override
    public Heartbeats heartbeats() {
        return heartbeats;
    }

    @Override
    public long vcpuCpuNanos() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long total = 0;
        for (VcpuLoop loop : loops) {
            Thread thread = loop.thread();
            long nanos = thread == null ? -1 : threads.getThreadCpuTime(thread.threadId());
            if (nanos < 0) {
                return -1;
            }
            total += nanos;
        }
        return total;
    }

    @Override
    public Map<String, Long> counters() {
        return counters.snapshot();
    }

    /** Why the VM stopped, once it has. */
    public Optional<String> stopReason() {
        synchronized (lifecycle) {
            return Optional.ofNullable(stopReason);
        }
    }

    /** True when the VM stopped because something went wrong (triple fault, entry failure, ...). */
    public boolean stoppedByError() {
        synchronized (lifecycle) {
            return stoppedByError;
        }
    }

    /** Waits until the VM is STOPPED; false if {@code timeout} passed first. */
    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lifecycle) {
            while (state != RunState.STOPPED) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(lifecycle, left);
            }
            return true;
        }
    }

    /** Stops the VM for good with {@code reason}; the vCPU threads end. Idempotent: the first reason stays. */
    public void stop(String reason) {
        stopNormally(reason);
        joinVcpus();
    }

    void stopNormally(String reason) {
        stopWith(reason, false);
    }

    void stopWithError(String reason) {
        stopWith(reason, true);
    }

    private void stopWith(String reason, boolean error) {
        synchronized (lifecycle) {
            if (state == RunState.STOPPED) {
                return;
            }
            state = RunState.STOPPED;
            stopReason = reason;
            stoppedByError = error;
            lifecycle.notifyAll();
        }
        gate.stop();
        kickAll();
        config.serial().flush();
        config.debugConsole().flush();
    }

    private void kickAll() {
        for (VcpuLoop loop : loops) {
            if (loop.thread() != Thread.currentThread()) {
                loop.kick();
            }
        }
    }

    private void joinVcpus() {
        for (VcpuLoop loop : loops) {
            Thread t = loop.thread();
            if (t == null || t == Thread.currentThread()) {
                continue;
            }
            try {
                if (!t.join(Duration.ofSeconds(5))) {
                    throw new IllegalStateException("vCPU thread " + t.getName() + " did not leave KVM_RUN within 5 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while stopping the vCPUs", e);
            }
        }
    }

    /** Stops the VM if it runs, then releases vCPUs, the VM, its memory and /dev/kvm. */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
        }
        stop("VM closed");
        // The vCPU threads read kvm_run until they leave; unmap nothing under them.
        for (VcpuLoop loop : loops) {
            Thread thread = loop.thread();
            if (thread != null) {
                try {
                    thread.join(2000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        synchronized (control) {
            if (throttleClock != null) {
                throttleClock.shutdownNow();
            }
        }
        tracker.stop();
        vcpus.forEach(VcpuFd::close);
        vmFd.close();
        memory.close();
        cpuid.close();
        kvm.close();
    }

    /** The RAM layout a VM of {@code memoryBytes} gets, without building it. */
    public static List<RamRegion> layout(long memoryBytes) {
        return GuestMemory.layout(memoryBytes);
    }
}
