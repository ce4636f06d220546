package dev.ferry.destination;

import dev.ferry.vm.MigratableVm;

/** What the destination VMM hears from a {@link MigrationReceiver}. Called from gRPC threads. */
public interface MigrationListener {
    /** The migration committed: {@code vm} now runs and is the guest's only authoritative copy. */
    void onVmRunning(MigratableVm vm);

    /**
     * The migration did not complete; the VM built for it (if any) was never resumed and is closed.
     * The source resumes its own VM.
     */
    void onDiscarded(String reason);
}
