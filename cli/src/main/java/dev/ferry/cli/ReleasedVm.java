package dev.ferry.cli;

import dev.ferry.dirty.DirtyTracker;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.Heartbeats;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RunState;
import dev.ferry.vm.VmShape;

import java.util.List;
import java.util.Map;

/**
 * A source VM after its migration completed, kept paused for inspection ({@code --keep-source}): the guest
 * runs on the destination now, so nothing may resume or migrate this copy again. Never both running.
 */
final class ReleasedVm implements MigratableVm {
    private final MigratableVm vm;
    private final String destination;

    ReleasedVm(MigratableVm vm, String destination) {
        this.vm = vm;
        this.destination = destination;
    }

    MigratableVm released() {
        return vm;
    }

    private IllegalStateException refused(String action) {
        return new IllegalStateException("cannot " + action + ": this VM was migrated to " + destination
                + " and runs there now; this copy is kept paused for inspection only");
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
        RunState state = vm.runState();
        return state == RunState.RUNNING ? RunState.PAUSED : state;
    }

    @Override
    public void pause() {
        vm.pause();
    }

    @Override
    public void resume() {
        throw refused("resume");
    }

    @Override
    public void throttle(int percent) {
        throw refused("throttle");
    }

    @Override
    public byte[] saveState() {
        return vm.saveState();
    }

    @Override
    public void loadState(byte[] state) {
        throw refused("load state");
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
