package dev.ferry.simulator;

import dev.ferry.vm.VmFactory;
import dev.ferry.vm.VmShape;

/**
 * Builds empty CREATED simulated VMs for a migration destination. The destination fills their RAM, loads
 * the source's state (which carries the source's workload and each vCPU's position) and resumes them.
 */
public final class SimulatedVmFactory implements VmFactory {
    private final WorkloadSpec initialWorkload;

    /** VMs that stay idle unless loaded state brings a workload. */
    public SimulatedVmFactory() {
        this(WorkloadSpec.IDLE);
    }

    /** VMs that run {@code initialWorkload} if resumed without loading state. */
    public SimulatedVmFactory(WorkloadSpec initialWorkload) {
        this.initialWorkload = initialWorkload;
    }

    @Override
    public void check(VmShape shape) {
        if (!SimulatedVm.KIND.equals(shape.kind())) {
            throw new IllegalArgumentException("this host builds VMs of kind '" + SimulatedVm.KIND
                    + "', not '" + shape.kind() + "'");
        }
        if (!SimulatedVm.CPU_FEATURES.equals(shape.cpuFeatures())) {
            throw new IllegalArgumentException("simulated CPU features '" + shape.cpuFeatures()
                    + "' differ from this simulator's '" + SimulatedVm.CPU_FEATURES + "'");
        }
    }

    @Override
    public SimulatedVm create(VmShape shape) {
        check(shape);
        return new SimulatedVm(shape, initialWorkload);
    }
}
