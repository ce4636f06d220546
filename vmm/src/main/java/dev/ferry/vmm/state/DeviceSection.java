package dev.ferry.vmm.state;

/**
 * One device's saved state as the device wrote it: opaque to everything but the device's
 * {@link DeviceStateCodec}.
 *
 * @param id       the section id, four printable ASCII characters
 * @param version  the version of the payload's layout
 * @param optional whether a VMM without this device may skip the section instead of refusing the state
 * @param payload  the bytes
 */
public record DeviceSection(String id, int version, boolean optional, byte[] payload) {
    public DeviceSection {
        SectionIds.requireValid(id);
        if (version < 1 || version > 0xFFFF) {
            throw new IllegalArgumentException("device section '" + id + "' version " + version + " is not 1..65535");
        }
    }
}
