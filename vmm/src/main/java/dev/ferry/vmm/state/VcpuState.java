package dev.ferry.vmm.state;

import java.util.List;

/**
 * The saved state of one vCPU. Every array holds the kernel's own struct bytes (little-endian x86-64
 * layout of linux/kvm.h), so a save on one kernel loads on another with the same ABI. The arrays belong
 * to the record: nobody mutates them after construction.
 *
 * @param id        the vCPU id (its index in the VM)
 * @param regs      struct kvm_regs (144 bytes)
 * @param sregs     struct kvm_sregs (312 bytes)
 * @param xsave     struct kvm_xsave region (4096 bytes, more with KVM_CAP_XSAVE2)
 * @param xcrs      struct kvm_xcrs (392 bytes)
 * @param msrs      the MSRs this VMM saves, in save order
 * @param lapic     struct kvm_lapic_state (1024 bytes)
 * @param events    struct kvm_vcpu_events (64 bytes)
 * @param mpState   struct kvm_mp_state (4 bytes)
 * @param debugregs struct kvm_debugregs (128 bytes)
 */
public record VcpuState(int id, byte[] regs, byte[] sregs, byte[] xsave, byte[] xcrs, List<Msr> msrs,
                        byte[] lapic, byte[] events, byte[] mpState, byte[] debugregs) {
    public VcpuState {
        msrs = List.copyOf(msrs);
    }
}
