package dev.ferry.source;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.dirty.DirtyTracker;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.Heartbeats;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RamRegion;
import dev.ferry.vm.RunState;
import dev.ferry.vm.VmShape;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A test-only VM over off-heap memory: a "vCPU" thread that writes into a working set of pages (marking
 * them dirty, honouring pause and throttle) and beats a heartbeat every millisecond.
 */
final class MemoryVm implements MigratableVm {
    private final VmShape shape;
    private final Arena arena = Arena.ofShared();
    private final List<GuestRam> ram = new ArrayList<>();
    private final SoftwareTracker tracker;
    private final Object cpu = new Object();
    private final List<Long> beats = new ArrayList<>();
    private final long workingSetPages;
    private final long writesPerMillisecond;
    private volatile RunState state = RunState.CREATED;
    private volatile int throttle;
    private volatile boolean writes = true;
    private final AtomicInteger slowPauses = new AtomicInteger();
    private volatile Duration slowPauseDelay = Duration.ZERO;
    private byte[] loaded = new byte[] {1};
    private Thread vcpu;

    MemoryVm(VmShape shape, long workingSetPages, long writesPerMillisecond) {
        this.shape = shape;
        long first = 0;
        for (RamRegion region : shape.ram()) {
            ram.add(new GuestRam(region, arena.allocate(region.size(), PAGE_SIZE), first));
            first += region.pages();
        }
        this.tracker = new SoftwareTracker(first);
        this.workingSetPages = Math.min(workingSetPages, first);
        this.writesPerMillisecond = writesPerMillisecond;
    }

    static VmShape shape(long... regionSizes) {
        List<RamRegion> regions = new ArrayList<>();
        long addr = 0;
        for (int i = 0; i < regionSizes.length; i++) {
            regions.add(new RamRegion(i, addr, regionSizes[i]));
            addr += regionSizes[i] + (1L << 20);
        }
        return new VmShape(regions, 2, "test-cpu", "memory");
    }

    /** Fills the RAM with a mix of zero, compressible and random pages, as a booted guest would have. */
    MemoryVm fill(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        for (GuestRam region : ram) {
            for (long p = 0; p < region.region().pages(); p++) {
                MemorySegment page = region.memory().asSlice(p * PAGE_SIZE, PAGE_SIZE);
                switch ((int) (p % 4)) {
                    case 0 -> { }
                    case 1 -> page.fill((byte) p);
                    default -> {
                        for (int i = 0; i < PAGE_SIZE; i += 8) {
                            page.set(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
                        }
                    }
                }
            }
        }
        return this;
    }

    /** A destination's VM: it beats heartbeats when running but never writes, so its RAM can be compared. */
    MemoryVm withoutWrites() {
        writes = false;
        return this;
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

    /** Fault injection: the next {@code count} pauses take {@code delay} longer, as a busy host's can. */
    MemoryVm withSlowPauses(int count, Duration delay) {
        slowPauses.set(count);
        slowPauseDelay = delay;
        return this;
    }

    @Override
    public void pause() {
        if (slowPauses.getAndDecrement() > 0) {
            LockSupport.parkNanos(slowPauseDelay.toNanos());
        }
        synchronized (cpu) {
            if (state == RunState.RUNNING) {
                state = RunState.PAUSED;
            }
        }
    }

    @Override
    public synchronized void resume() {
        synchronized (cpu) {
            state = RunState.RUNNING;
        }
        if (vcpu == null) {
            vcpu = Thread.ofPlatform().daemon().name("memory-vm-vcpu").start(this::runVcpu);
        }
    }

    /** Stops the vCPU thread for good. */
    void stop() {
        synchronized (cpu) {
            state = RunState.STOPPED;
        }
        Thread thread = vcpu;
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void runVcpu() {
        SplittableRandom random = new SplittableRandom(42);
        long nextBeat = System.nanoTime();
        while (state != RunState.STOPPED && !Thread.currentThread().isInterrupted()) {
            long periodStart = System.nanoTime();
            synchronized (cpu) {
                if (state == RunState.RUNNING) {
                    long now = System.nanoTime();
                    if (now >= nextBeat) {
                        synchronized (beats) {
                            beats.add(now);
                        }
                        nextBeat = now + 1_000_000;
                    }
                    if (writes) {
                        for (long i = 0; i < writesPerMillisecond; i++) {
                            long page = random.nextLong(workingSetPages);
                            MemorySegment memory = pageMemory(page);
                            memory.set(ValueLayout.JAVA_LONG_UNALIGNED, random.nextInt(PAGE_SIZE / 8) * 8L,
                                    random.nextLong());
                            tracker.mark(page);
                        }
                    }
                }
            }
            long busy = System.nanoTime() - periodStart;
            long sleepNanos = Math.max(1_000_000 - busy, 0) + throttledNanos(busy);
            try {
                Thread.sleep(sleepNanos / 1_000_000, (int) (sleepNanos % 1_000_000));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Time off the CPU so that {@code throttle} percent of each period is spent outside the guest. */
    private long throttledNanos(long busy) {
        int percent = throttle;
        return percent == 0 ? 0 : Math.max(1_000_000, busy) * percent / (100 - percent);
    }

    private MemorySegment pageMemory(long page) {
        for (GuestRam region : ram) {
            if (region.contains(page)) {
                return region.page(page);
            }
        }
        throw new IndexOutOfBoundsException("page " + page);
    }

    @Override
    public void throttle(int percent) {
        throttle = percent;
    }

    int throttlePercent() {
        return throttle;
    }

    @Override
    public byte[] saveState() {
        if (state == RunState.RUNNING) {
            throw new IllegalStateException("saveState while running");
        }
        ByteBuffer buffer = ByteBuffer.allocate(16);
        buffer.putLong(loaded.length).putLong(System.identityHashCode(this));
        return buffer.array();
    }

    @Override
    public void loadState(byte[] saved) {
        if (state == RunState.RUNNING) {
            throw new IllegalStateException("loadState while running");
        }
        loaded = saved.clone();
    }

    byte[] loadedState() {
        return loaded;
    }

    @Override
    public Heartbeats heartbeats() {
        return new Heartbeats() {
            @Override
            public long count() {
                synchronized (beats) {
                    return beats.size();
                }
            }

            @Override
            public long lastNanos() {
                synchronized (beats) {
                    return beats.isEmpty() ? -1 : beats.getLast();
                }
            }

            @Override
            public long firstNanosAfter(long nanos) {
                synchronized (beats) {
                    for (long beat : beats) {
                        if (beat >= nanos) {
                            return beat;
                        }
                    }
                    return -1;
                }
            }

            @Override
            public long largestGapNanos(long fromNanos, long toNanos) {
                return -1;
            }
        };
    }

    @Override
    public Map<String, Long> counters() {
        return Map.of();
    }

    /** Dirty bits set by the vCPU after each write; a sync takes and clears them. */
    static final class SoftwareTracker implements DirtyTracker {
        private final long pages;
        private final AtomicLongArray words;
        private volatile boolean tracking;
        private boolean firstSync;

        SoftwareTracker(long pages) {
            this.pages = pages;
            this.words = new AtomicLongArray((int) ((pages + 63) >>> 6));
        }

        void mark(long page) {
            if (tracking) {
                int index = (int) (page >>> 6);
                long bit = 1L << page;
                long old;
                do {
                    old = words.get(index);
                } while ((old & bit) == 0 && !words.compareAndSet(index, old, old | bit));
            }
        }

        @Override
        public long pageCount() {
            return pages;
        }

        @Override
        public void start() {
            for (int i = 0; i < words.length(); i++) {
                words.set(i, 0);
            }
            firstSync = true;
            tracking = true;
        }

        @Override
        public void stop() {
            tracking = false;
        }

        @Override
        public boolean isTracking() {
            return tracking;
        }

        @Override
        public long sync(DirtyBitmap dirty) {
            long added = 0;
            if (firstSync) {
                firstSync = false;
                for (int i = 0; i < words.length(); i++) {
                    words.set(i, 0);
                }
                long before = dirty.count();
                dirty.setAll();
                return pages - before;
            }
            for (int i = 0; i < words.length(); i++) {
                long bits = words.getAndSet(i, 0);
                added += Long.bitCount(bits & ~dirty.word(i));
                dirty.setWord(i, dirty.word(i) | bits);
            }
            return added;
        }

        @Override
        public void rearm(DirtyBitmap pagesToRead, long fromPage, long pageCount) {
            // Bits are taken at sync time, so a write after that is already caught by the next sync.
        }

        @Override
        public void recordHostWrite(long page) {
            mark(page);
        }
    }

    @Override
    public void close() {
        stop();
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
