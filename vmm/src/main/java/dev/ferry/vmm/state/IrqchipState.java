package dev.ferry.vmm.state;

/**
 * The in-kernel interrupt controllers: the 512-byte chip state of each {@code struct kvm_irqchip}
 * (PIC master, chip id 0; PIC slave, 1; IOAPIC, 2).
 */
public record IrqchipState(byte[] picMaster, byte[] picSlave, byte[] ioapic) {
}
