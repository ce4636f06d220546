package dev.ferry.vmm.state;

import java.nio.ByteBuffer;

/**
 * What a device supplies to take part in VM state: a section id, the newest payload version it
 * writes, and the functions that write and read its payload. The payload is the device's own business;
 * the VM state format only frames, versions and checks it.
 *
 * <p>Compatibility is the device's promise: {@link #load} must read every version from 1 up to
 * {@link #version()}; the format refuses a newer one before the device sees it.
 */
public interface DeviceStateCodec {
    /** Four printable ASCII characters, unique within the VM and unlike the built-in ids (e.g. {@code "COM1"}). */
    String sectionId();

    /** The newest payload version this device writes and reads, 1..65535. */
    int version();

    /** Whether a VMM that lacks this device may skip the section (true) or must refuse the state (false). */
    default boolean optional() {
        return false;
    }

    /** The device's state now, in the layout of {@link #version()}. Called with the VM paused. */
    byte[] save();

    /**
     * Replaces the device's state with a saved one. {@code payload} is little-endian, positioned at the
     * first byte, and limited to the section; a payload too short for its version surfaces as a
     * {@link java.nio.BufferUnderflowException}, which the loader reports as a corrupt section.
     */
    void load(int version, ByteBuffer payload);
}
