package dev.ferry.vmm.devices;

/** Port 0x80, the POST-code port firmware and kernels write to as an I/O delay: ignored. */
public final class PostPort implements PortDevice {
    public static final int PORT = 0x80;

    @Override
    public int read(int port, int size) {
        return 0xff;
    }

    @Override
    public void write(int port, int size, int value) {
    }
}
