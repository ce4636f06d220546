package dev.ferry.vmm.state;

/** One saved model-specific register: its index and value. */
public record Msr(int index, long value) {
    @Override
    public String toString() {
        return String.format("MSR 0x%x = 0x%x", index, value);
    }
}
