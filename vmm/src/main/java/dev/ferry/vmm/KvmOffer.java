package dev.ferry.vmm;

import dev.ferry.vmm.kvm.Cpuid;
import dev.ferry.vmm.kvm.Kvm;
import dev.ferry.vmm.kvm.VcpuFd;
import dev.ferry.vmm.state.VmStateSnapshotter;

/**
 * What this host's KVM offers every VM of this process, asked once: the CPUID table KVM supports (every
 * vCPU gets it, so its digest is every VM's CPU features) and which MSRs a saved vCPU state holds. Neither
 * changes while the process runs, and asking again would cost a migration destination milliseconds.
 */
final class KvmOffer {
    private static Cpuid supportedCpuid;
    private static String cpuFeatures;
    private static VmStateSnapshotter snapshotter;

    private KvmOffer() {
    }

    /** A copy of KVM_GET_SUPPORTED_CPUID's table, which the caller owns. */
    static synchronized Cpuid supportedCpuid(Kvm kvm) {
        return table(kvm).copy();
    }

    /** The digest of {@link #supportedCpuid}: what the shape of a VM built here calls its CPU features. */
    static synchronized String cpuFeatures() {
        if (cpuFeatures == null) {
            try (Kvm kvm = Kvm.open()) {
                table(kvm);
            }
        }
        return cpuFeatures;
    }

    private static Cpuid table(Kvm kvm) {
        if (supportedCpuid == null) {
            supportedCpuid = kvm.supportedCpuid();
            cpuFeatures = supportedCpuid.digest();
        }
        return supportedCpuid;
    }

    /** The state snapshotter of every VM here; {@code vcpu} (with the supported CPUID set) answers its MSR probe. */
    static synchronized VmStateSnapshotter snapshotter(Kvm kvm, VcpuFd vcpu) {
        if (snapshotter == null) {
            VmStateSnapshotter probed = new VmStateSnapshotter(kvm);
            probed.savedMsrIndices(vcpu);
            snapshotter = probed;
        }
        return snapshotter;
    }
}
