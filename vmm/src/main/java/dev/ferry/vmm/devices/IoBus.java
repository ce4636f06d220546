package dev.ferry.vmm.devices;

/**
 * Dispatches I/O-port exits to devices by port. A port nobody claims reads as 0xFF (a floating ISA bus)
 * and swallows writes; both are counted.
 */
public final class IoBus {
    private static final int PORTS = 0x10000;

    private final PortDevice[] devices = new PortDevice[PORTS];
    private final ExitCounters counters;

    public IoBus(ExitCounters counters) {
        this.counters = counters;
    }

    /** Claims ports [first, first + count) for {@code device}. */
    public void register(int first, int count, PortDevice device) {
        for (int port = first; port < first + count; port++) {
            if (devices[port] != null) {
                throw new IllegalArgumentException("I/O port 0x" + Integer.toHexString(port) + " is already claimed by "
                        + devices[port].getClass().getSimpleName());
            }
            devices[port] = device;
        }
    }

    public int read(int port, int size) {
        PortDevice device = devices[port & 0xffff];
        if (device == null) {
            counters.increment(ExitCounters.UNKNOWN_PORT_READS);
            return size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
        }
        return device.read(port, size);
    }

    public void write(int port, int size, int value) {
        PortDevice device = devices[port & 0xffff];
        if (device == null) {
            counters.increment(ExitCounters.UNKNOWN_PORT_WRITES);
            return;
        }
        device.write(port, size, value);
    }
}
