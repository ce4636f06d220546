package dev.ferry.vm;

/**
 * Builds an empty, not yet running VM of a given shape, with all-zero RAM: how a migration destination gets
 * its VM (it may skip writing zero pages to RAM it never wrote).
 */
@FunctionalInterface
public interface VmFactory {
    /**
     * Refuses a shape this host cannot build, without building anything: a destination answers the source's
     * handshake with it and builds the VM while the first pages travel. The default accepts every shape and
     * leaves refusing to {@link #create}.
     *
     * @throws IllegalArgumentException naming the mismatch
     */
    default void check(VmShape shape) {
    }

    /**
     * Builds the VM; this may take milliseconds (KVM sets up its memory slots). A shape {@link #check} accepted
     * may still fail here, for want of memory for instance.
     *
     * @throws IllegalArgumentException naming the mismatch when this host cannot build that shape
     */
    MigratableVm create(VmShape shape);
}
