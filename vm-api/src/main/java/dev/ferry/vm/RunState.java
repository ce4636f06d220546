package dev.ferry.vm;

/** Where a VM is in its life. */
public enum RunState {
    /** Created, not yet started (a migration destination waits here). */
    CREATED,
    RUNNING,
    PAUSED,
    /** Stopped for good: the guest shut down, crashed, or the VM was released. */
    STOPPED
}
