package dev.ferry.vm;

import java.util.List;

/**
 * What a destination VM must be to receive a VM: its RAM layout, vCPU count and CPU features. Sent in the
 * migration handshake; a destination built from it is page-for-page compatible with the source.
 *
 * @param ram         RAM regions in page-number order
 * @param vcpus       number of vCPUs, at least 1
 * @param cpuFeatures a canonical description of the guest-visible CPU (for KVM: a digest of the CPUID
 *                    table); source and destination must agree exactly
 * @param kind        which implementation runs it ("kvm", "simulated"); a destination refuses another kind
 */
public record VmShape(List<RamRegion> ram, int vcpus, String cpuFeatures, String kind) {
    public VmShape {
        ram = List.copyOf(ram);
        if (ram.isEmpty()) {
            throw new IllegalArgumentException("a VM needs at least one RAM region");
        }
        if (vcpus < 1) {
            throw new IllegalArgumentException("a VM needs at least one vCPU, not " + vcpus);
        }
    }

    public long ramBytes() {
        return ram.stream().mapToLong(RamRegion::size).sum();
    }

    public long pageCount() {
        return ramBytes() / MigratableVm.PAGE_SIZE;
    }
}
