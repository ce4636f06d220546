package dev.ferry.vm;

/**
 * Builds an empty, not yet running VM of a given shape, with all-zero RAM: how a migration destination gets
 * its VM (it may skip writing zero pages to RAM it never wrote).
 */
@FunctionalInterface
public interface VmFactory {
    /** @throws IllegalArgumentException naming the mismatch when this host cannot build that shape */
    MigratableVm create(VmShape shape);
}
