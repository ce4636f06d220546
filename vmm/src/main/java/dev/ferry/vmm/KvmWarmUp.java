package dev.ferry.vmm;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.dirty.DirtyTracker;
import dev.ferry.vmm.boot.BootSource;

/**
 * Runs the KVM paths a migration's switchover takes (dirty-log sync and rearm over all of RAM, state save,
 * state load) on a throwaway VM that never runs, until the JIT has compiled them. A JVM runs code slowly the
 * first times through it (class loading, native linking, the interpreter): a VMM that warms up as it starts
 * keeps those costs out of a migration's downtime. The VM has 4 GiB, two memory slots, none of it ever backed.
 */
public final class KvmWarmUp {
    private static final long MEMORY = 4L << 30;
    private static final int ROUNDS = 100;

    private KvmWarmUp() {
    }

    /** Throws what building the VM throws (for instance when /dev/kvm is unusable). */
    public static void run() {
        try (KvmVm vm = KvmVm.create(VmConfig.of("warm-up", MEMORY, 1, BootSource.nothing()))) {
            DirtyTracker tracker = vm.dirtyTracker();
            tracker.start();
            byte[] data = {1};
            try (DirtyBitmap dirty = new DirtyBitmap(tracker.pageCount())) {
                for (int i = 0; i < ROUNDS; i++) {
                    // A VMM's own write now and then, so the JIT sees host writes drained as well as none.
                    if (i % 2 == 0) {
                        vm.memory().write((long) i * 4096, data);
                    }
                    tracker.sync(dirty);
                    tracker.rearm(dirty, 0, dirty.pages());
                    dirty.clearAll();
                    vm.loadState(vm.saveState());
                }
            } finally {
                tracker.stop();
            }
        }
    }
}
