package dev.ferry.vmm.devices;

/**
 * System control port A at 0x92 ("fast A20"). Bit 1 is the A20 gate, which KVM keeps on regardless; bit 0
 * would reset the machine on real hardware but reads back clear and never resets here.
 */
public final class A20Gate implements PortDevice {
    public static final int PORT = 0x92;

    /** The latched value of port 0x92. */
    public record State(int latch) {
    }

    private volatile int latch = 0x02;

    @Override
    public int read(int port, int size) {
        return latch;
    }

    @Override
    public void write(int port, int size, int value) {
        latch = value & 0xfe;
    }

    public State state() {
        return new State(latch);
    }

    public void restore(State state) {
        latch = state.latch() & 0xfe;
    }
}
