package dev.ferry.source;

import dev.ferry.dirty.DirtyTracker;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.Heartbeats;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RunState;
import dev.ferry.vm.VmShape;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A destination VM seen through a test's eyes: when it is first resumed (the switchover), its RAM is
 * copied aside before the guest runs on, so a test can compare it page for page with the source's RAM at
 * the stop instant even though the destination guest keeps writing afterwards.
 */
final class StopInstantCopy implements MigratableVm {
    private final MigratableVm vm;
    private final Arena arena = Arena.ofShared();
    private volatile List<GuestRam> atResume;

    StopInstantCopy(MigratableVm vm) {
        this.vm = vm;
    }

    MigratableVm vm() {
        return vm;
    }

    /** The RAM as it was when the VM was resumed, or null if it never was. */
    List<GuestRam> ramAtResume() {
        return atResume;
    }

    @Override
    public void resume() {
        if (atResume == null) {
            List<GuestRam> copy = new ArrayList<>();
            for (GuestRam region : vm.ram()) {
                MemorySegment memory = arena.allocate(region.region().size(), PAGE_SIZE);
                memory.copyFrom(region.memory());
                copy.add(new GuestRam(region.region(), memory, region.firstPage()));
            }
            atResume = copy;
        }
        vm.resume();
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    @Override
    public VmShape shape() {
        return vm.shape();
    }

    @Override
    public List<GuestRam> ram() {
        return vm.ram();
    }

    @Override
    public DirtyTracker dirtyTracker() {
        return vm.dirtyTracker();
    }

    @Override
    public RunState runState() {
        return vm.runState();
    }

    @Override
    public void pause() {
        vm.pause();
    }

    @Override
    public void throttle(int percent) {
        vm.throttle(percent);
    }

    @Override
    public byte[] saveState() {
        return vm.saveState();
    }

    @Override
    public void loadState(byte[] state) {
        vm.loadState(state);
    }

    @Override
    public Heartbeats heartbeats() {
        return vm.heartbeats();
    }

    @Override
    public Map<String, Long> counters() {
        return vm.counters();
    }
}
