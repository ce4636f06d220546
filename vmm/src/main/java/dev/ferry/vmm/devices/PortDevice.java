package dev.ferry.vmm.devices;

/** A device on the x86 I/O port bus. Accesses are 1, 2 or 4 bytes wide. */
public interface PortDevice {
    /** The value read from {@code port}, in the low {@code size} bytes. */
    int read(int port, int size);

    void write(int port, int size, int value);
}
