package dev.ferry.vmm.state;

import java.util.List;

/**
 * A VM's complete non-RAM state at one instant, as plain data: what {@link VmStateSnapshotter#capture}
 * reads from KVM and the devices, what {@link VmStateCodec} turns into bytes and back, and what
 * {@link VmStateSnapshotter#restore} writes into another VM. Arrays belong to the record.
 *
 * @param clock   struct kvm_clock_data (48 bytes): kvmclock as KVM_GET_CLOCK returned it
 * @param irqchip the in-kernel PIC pair and IOAPIC
 * @param pit     struct kvm_pit_state2 (112 bytes): the in-kernel i8254
 * @param vcpus   one entry per vCPU, in id order
 * @param devices the devices' own sections, in the order they were saved
 */
public record VmState(byte[] clock, IrqchipState irqchip, byte[] pit, List<VcpuState> vcpus,
                      List<DeviceSection> devices) {
    public VmState {
        vcpus = List.copyOf(vcpus);
        devices = List.copyOf(devices);
        for (int i = 0; i < vcpus.size(); i++) {
            if (vcpus.get(i).id() != i) {
                throw new IllegalArgumentException("vCPU at position " + i + " has id " + vcpus.get(i).id());
            }
        }
    }
}
