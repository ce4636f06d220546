package dev.ferry.vmm.devices;

/** QEMU's debugcon on port 0xE9: bytes written go to a sink; reads return 0xE9 so a guest can detect it. */
public final class DebugPort implements PortDevice {
    public static final int PORT = 0xe9;

    private final SerialSink sink;
    private final ExitCounters counters;

    public DebugPort(SerialSink sink, ExitCounters counters) {
        this.sink = sink;
        this.counters = counters;
    }

    @Override
    public int read(int port, int size) {
        return PORT;
    }

    @Override
    public void write(int port, int size, int value) {
        for (int i = 0; i < size; i++) {
            counters.increment(ExitCounters.DEBUG_PORT_BYTES);
            sink.write((value >>> (8 * i)) & 0xff);
        }
    }
}
