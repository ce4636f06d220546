package dev.ferry.simulator;

import dev.ferry.dirty.DirtyTracker;
import dev.ferry.dirty.SoftwareDirtyTracker;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.HeartbeatRing;
import dev.ferry.vm.Heartbeats;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RamRegion;
import dev.ferry.vm.RunState;
import dev.ferry.vm.VmShape;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A VM without KVM: guest RAM is anonymous host memory, and each vCPU is a thread running a
 * {@link WorkloadSpec} over it (page writes at a paced rate, marked dirty after each write, a heartbeat per
 * millisecond of guest time on vCPU 0). It implements {@link MigratableVm} fully, so the real migration
 * agents move it exactly as they move a KVM guest.
 *
 * <p>Life: CREATED (no thread yet; a migration destination fills RAM and loads state here) → RUNNING ⇄
 * PAUSED → STOPPED ({@link #stop()} or {@link #close()} ends the threads and unmaps the RAM; the segments of
 * {@link #ram()} are unusable afterwards).
 */
public final class SimulatedVm implements MigratableVm {
    public static final String KIND = "simulated";
    public static final String CPU_FEATURES = "simulated-v1";
    /** Slot 0 ends here; RAM beyond it goes to slot 1 at 4 GiB, as the KVM VMM lays out guest RAM. */
    public static final long LOW_RAM_LIMIT = 3L << 30;
    public static final long HIGH_RAM_START = 4L << 30;
    /** 65 s of heartbeats at one per millisecond. */
    private static final int HEARTBEAT_CAPACITY = 1 << 16;
    private static final long STOP_TIMEOUT_NANOS = 5_000_000_000L;

    private final VmShape shape;
    private final Arena arena;
    private final List<GuestRam> ram;
    private final SoftwareDirtyTracker tracker;
    private final HeartbeatRing heartbeats = new HeartbeatRing(HEARTBEAT_CAPACITY);
    private final VcpuGate gate = new VcpuGate();
    private final List<VcpuCursor> cursors = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final Object lifecycle = new Object();
    private volatile Workload workload;
    private volatile int throttlePercent;
    private volatile RunState state = RunState.CREATED;
    private long pauses;
    private long statesLoaded;

    /**
     * A CREATED VM of {@code shape} (kind {@value #KIND}) whose vCPUs will run {@code spec} once resumed,
     * unless {@link #loadState} brings another workload and position first.
     *
     * @throws IllegalArgumentException if the shape is of another kind or the working set exceeds the RAM
     */
    public SimulatedVm(VmShape shape, WorkloadSpec spec) {
        if (!KIND.equals(shape.kind())) {
            throw new IllegalArgumentException("a simulated VM cannot have kind '" + shape.kind() + "'");
        }
        this.shape = shape;
        this.arena = Arena.ofShared();
        List<GuestRam> regions = new ArrayList<>();
        long firstPage = 0;
        try {
            for (RamRegion region : shape.ram()) {
                regions.add(new GuestRam(region, AnonymousMemory.map(region.size(), arena), firstPage));
                firstPage += region.pages();
            }
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        this.ram = List.copyOf(regions);
        this.tracker = new SoftwareDirtyTracker(shape.pageCount());
        try {
            this.workload = new Workload(spec, shape.vcpus(), ram, tracker::markDirty);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        for (int i = 0; i < shape.vcpus(); i++) {
            cursors.add(new VcpuCursor(workload.initialPosition(i)));
        }
        if (spec.fill()) {
            workload.fill();
        }
    }

    /** A CREATED VM of {@code ramBytes} laid out by {@link #shapeFor} with {@code vcpus} vCPUs. */
    public SimulatedVm(long ramBytes, int vcpus, WorkloadSpec spec) {
        this(shapeFor(ramBytes, vcpus), spec);
    }

    /**
     * The shape of a simulated VM with {@code ramBytes} of RAM: slot 0 at guest-physical 0 up to 3 GiB, the
     * rest in slot 1 from 4 GiB (the hole below 4 GiB is where a PC has its devices).
     */
    public static VmShape shapeFor(long ramBytes, int vcpus) {
        if (ramBytes <= 0 || ramBytes % PAGE_SIZE != 0) {
            throw new IllegalArgumentException("simulated RAM of " + ramBytes + " bytes: needs a positive multiple of "
                    + PAGE_SIZE);
        }
        List<RamRegion> regions = new ArrayList<>();
        regions.add(new RamRegion(0, 0, Math.min(ramBytes, LOW_RAM_LIMIT)));
        if (ramBytes > LOW_RAM_LIMIT) {
            regions.add(new RamRegion(1, HIGH_RAM_START, ramBytes - LOW_RAM_LIMIT));
        }
        return new VmShape(regions, vcpus, CPU_FEATURES, KIND);
    }

    @Override
    public VmShape shape() {
        return shape;
    }

    @Override
    public List<GuestRam> ram() {
        return ram;
    }

    @Override
    public DirtyTracker dirtyTracker() {
        return tracker;
    }

    @Override
    public RunState runState() {
        return state;
    }

    /** The workload the vCPUs run (the constructor's, or the one the last {@link #loadState} brought). */
    public WorkloadSpec workload() {
        return workload.spec();
    }

    /** Returns once every vCPU thread is parked with no write in flight. No effect unless RUNNING. */
    @Override
    public void pause() {
        synchronized (lifecycle) {
            if (state == RunState.RUNNING) {
                gate.close();
                pauses++;
                state = RunState.PAUSED;
            }
        }
    }

    @Override
    public void resume() {
        synchronized (lifecycle) {
            switch (state) {
                case RUNNING -> {
                }
                case STOPPED -> throw new IllegalStateException("cannot resume a stopped simulated VM");
                case CREATED -> {
                    startVcpus();
                    gate.open();
                    state = RunState.RUNNING;
                }
                case PAUSED -> {
                    gate.open();
                    state = RunState.RUNNING;
                }
            }
        }
    }

    @Override
    public void throttle(int percent) {
        if (percent < 0 || percent > 99) {
            throw new IllegalArgumentException("throttle of " + percent + "%: expected 0..99");
        }
        throttlePercent = percent;
    }

    @Override
    public byte[] saveState() {
        synchronized (lifecycle) {
            requireStopped("saveState");
            List<VcpuPosition> positions = new ArrayList<>(cursors.size());
            for (VcpuCursor c : cursors) {
                positions.add(c.snapshot());
            }
            return new SimulatedVmState(workload.spec(), shape.pageCount(), positions).encode();
        }
    }

    @Override
    public void loadState(byte[] bytes) {
        synchronized (lifecycle) {
            requireStopped("loadState");
            SimulatedVmState loaded = SimulatedVmState.decode(bytes);
            if (loaded.vcpus().size() != shape.vcpus()) {
                throw new IllegalArgumentException("simulated VM state for " + loaded.vcpus().size()
                        + " vCPUs, this VM has " + shape.vcpus());
            }
            if (loaded.ramPages() != shape.pageCount()) {
                throw new IllegalArgumentException("simulated VM state for " + loaded.ramPages()
                        + " pages of RAM, this VM has " + shape.pageCount());
            }
            Workload next = new Workload(loaded.workload(), shape.vcpus(), ram, tracker::markDirty);
            for (VcpuPosition p : loaded.vcpus()) {
                if (p.nextSequentialPage() >= next.wssPages()) {
                    throw new IllegalArgumentException("simulated VM state puts a vCPU at page "
                            + p.nextSequentialPage() + ", outside its working set of " + next.wssPages() + " pages");
                }
            }
            workload = next;
            for (int i = 0; i < cursors.size(); i++) {
                cursors.get(i).restore(loaded.vcpus().get(i));
            }
            statesLoaded++;
        }
    }

    @Override
    public Heartbeats heartbeats() {
        return heartbeats;
    }

    @Override
    public Map<String, Long> counters() {
        long written = 0;
        for (VcpuCursor c : cursors) {
            written += c.pagesWritten();
        }
        Map<String, Long> counters = new LinkedHashMap<>();
        counters.put("pages_written", written);
        counters.put("ticks", cursors.getFirst().ticks());
        counters.put("heartbeats", heartbeats.count());
        counters.put("throttle_percent", (long) throttlePercent);
        counters.put("vcpus", (long) shape.vcpus());
        counters.put("rate_bytes_per_second", workload.spec().rateBytesPerSecond());
        counters.put("wss_pages", workload.wssPages());
        synchronized (lifecycle) {
            counters.put("pauses", pauses);
            counters.put("states_loaded", statesLoaded);
        }
        return counters;
    }

    /** Ends the vCPU threads, stops dirty tracking and unmaps the RAM. Idempotent. */
    public void stop() {
        synchronized (lifecycle) {
            if (state == RunState.STOPPED) {
                return;
            }
            state = RunState.STOPPED;
            gate.stop();
            if (!gate.awaitExit(STOP_TIMEOUT_NANOS)) {
                throw new IllegalStateException("simulated vCPU threads did not end within 5 s; RAM left mapped");
            }
            tracker.stop();
            arena.close();
        }
    }

    @Override
    public void close() {
        stop();
    }

    private void requireStopped(String operation) {
        if (state != RunState.PAUSED && state != RunState.CREATED) {
            throw new IllegalStateException(operation + " needs a paused simulated VM; it is " + state);
        }
    }

    private void startVcpus() {
        for (int i = 0; i < shape.vcpus(); i++) {
            SimulatedVcpu vcpu = new SimulatedVcpu(i, cursors.get(i), gate, () -> workload, () -> throttlePercent,
                    i == 0 ? heartbeats : null);
            Thread thread = Thread.ofPlatform().daemon().name("sim-vcpu-" + i).unstarted(vcpu);
            gate.enter();
            threads.add(thread);
            thread.start();
        }
    }
}
