package dev.ferry.destination;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.dirty.DirtyTracker;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.Heartbeats;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RamRegion;
import dev.ferry.vm.RunState;
import dev.ferry.vm.VmShape;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;

/**
 * A test-only destination VM: off-heap RAM and a run state, no guest. The receiver's validation needs
 * nothing more; it is never resumed in these tests except by a completed session.
 */
final class BlankVm implements MigratableVm {
    static final String KIND = "blank";

    private final VmShape shape;
    private final Arena arena = Arena.ofShared();
    private final List<GuestRam> ram = new ArrayList<>();
    private volatile RunState state = RunState.CREATED;
    private byte[] loaded;
    private final BitSet backed = new BitSet();

    BlankVm(VmShape shape) {
        check(shape);
        this.shape = shape;
        long first = 0;
        for (RamRegion region : shape.ram()) {
            ram.add(new GuestRam(region, arena.allocate(region.size(), PAGE_SIZE), first));
            first += region.pages();
        }
    }

    static void check(VmShape shape) {
        if (!KIND.equals(shape.kind())) {
            throw new IllegalArgumentException("this host builds VMs of kind '" + KIND + "', not '" + shape.kind() + "'");
        }
    }

    boolean isOpen() {
        return arena.scope().isAlive();
    }

    static VmShape shape(long bytes) {
        return new VmShape(List.of(new RamRegion(0, 0, bytes)), 1, "none", KIND);
    }

    byte[] loadedState() {
        return loaded;
    }

    /** The pages {@link #backPages} was asked to back so far. */
    synchronized BitSet backed() {
        return (BitSet) backed.clone();
    }

    @Override
    public synchronized void backPages(long firstPage, long pages) {
        backed.set(Math.toIntExact(firstPage), Math.toIntExact(firstPage + pages));
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
        return new DirtyTracker() {
            @Override
            public long pageCount() {
                return shape.pageCount();
            }

            @Override
            public void start() {
                throw new UnsupportedOperationException("a blank VM is never a migration source");
            }

            @Override
            public void stop() {
            }

            @Override
            public boolean isTracking() {
                return false;
            }

            @Override
            public long sync(DirtyBitmap dirty) {
                throw new UnsupportedOperationException("a blank VM is never a migration source");
            }

            @Override
            public void rearm(DirtyBitmap pages, long fromPage, long pageCount) {
            }

            @Override
            public void recordHostWrite(long page) {
            }
        };
    }

    @Override
    public RunState runState() {
        return state;
    }

    @Override
    public void pause() {
        if (state == RunState.RUNNING) {
            state = RunState.PAUSED;
        }
    }

    @Override
    public void resume() {
        state = RunState.RUNNING;
    }

    @Override
    public void throttle(int percent) {
    }

    @Override
    public byte[] saveState() {
        return loaded == null ? new byte[] {1} : loaded.clone();
    }

    @Override
    public void loadState(byte[] state) {
        if (this.state == RunState.RUNNING) {
            throw new IllegalStateException("loadState while running");
        }
        loaded = state.clone();
    }

    @Override
    public Heartbeats heartbeats() {
        return Heartbeats.NONE;
    }

    @Override
    public Map<String, Long> counters() {
        return Map.of();
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
