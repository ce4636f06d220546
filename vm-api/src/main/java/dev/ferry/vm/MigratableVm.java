package dev.ferry.vm;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.dirty.DirtyTracker;

import java.util.List;

/**
 * A VM as the migration engine sees it. The KVM VMM and the simulated VM both implement it; the agents
 * know nothing else about either.
 *
 * <p>Pages are numbered across {@link #ram()} in order: region {@code i}'s first page is
 * {@link GuestRam#firstPage()}. Page size is {@link #PAGE_SIZE}.
 */
public interface MigratableVm extends AutoCloseable {
    int PAGE_SIZE = 4096;

    /** Memory layout, vCPU count and CPU features: what a destination must match. */
    VmShape shape();

    /** The RAM regions, off-heap, in page-number order. Writable on a destination before it resumes. */
    List<GuestRam> ram();

    /** Dirty-page tracking over all of {@link #ram()}. */
    DirtyTracker dirtyTracker();

    /**
     * Sets in {@code into} (which covers every page) each page that may hold non-zero bytes; a page left
     * clear is known to be zero without reading it, such as memory the guest never touched. Reading untouched
     * memory costs a page fault per page, which on a nested host is microseconds: this lets a first round
     * skip it. The default sets every page.
     */
    default void possiblyNonZeroPages(DirtyBitmap into) {
        into.setAll();
    }

    /**
     * Backs pages {@code [firstPage, firstPage + pages)} with memory now, in one go, because they are about to
     * be written (a destination installing pages it never wrote). A hint: writing them without it works, at a
     * page fault each, which on a nested host costs microseconds. The default does nothing.
     */
    default void backPages(long firstPage, long pages) {
    }

    RunState runState();

    /** Stops every vCPU; returns once none is executing guest code. Idempotent. */
    void pause();

    /** Lets the vCPUs run again (or for the first time). Idempotent. */
    void resume();

    /**
     * Throttles the vCPUs for auto-converge: they spend {@code percent} (0..99) of every short period
     * outside the guest. 0 removes the throttle.
     */
    void throttle(int percent);

    /**
     * The complete non-RAM state (every vCPU, interrupt controllers, timers, clock, devices) as
     * self-describing versioned bytes. Only while paused (a VM built and not yet resumed counts as paused).
     */
    byte[] saveState();

    /** Loads what {@link #saveState()} produced on another VM of the same shape. Only before resuming. */
    void loadState(byte[] state);

    /** The guest's heartbeats, for the guest-observed blackout; {@link Heartbeats#NONE} for guests without. */
    Heartbeats heartbeats();

    /**
     * CPU time the vCPU threads have used so far, in nanoseconds, or -1 where the VM cannot tell (the default).
     * The engine reads it at both ends of a pre-copy round: on a host with no idle CPU, the cores a busy guest
     * kept are the cores the paused final phase gets back.
     */
    default long vcpuCpuNanos() {
        return -1;
    }

    /** Counters a VM exposes to status displays (exits, unknown-port accesses, ...), by name. */
    java.util.Map<String, Long> counters();

    /** Stops the VM if it runs and releases what it holds (vCPU threads, RAM, file descriptors). Idempotent. */
    @Override
    default void close() {
    }
}
