package dev.ferry.vm;

/** Builds an empty, not yet running VM of a given shape: how a migration destination gets its VM. */
@FunctionalInterface
public interface VmFactory {
    /** @throws IllegalArgumentException naming the mismatch when this host cannot build that shape */
    MigratableVm create(VmShape shape);
}
