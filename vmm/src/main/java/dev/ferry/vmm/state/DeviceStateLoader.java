package dev.ferry.vmm.state;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Hands each saved device section to the device that owns it, after checking that the state and the
 * VM's devices match: every required section has a device, every required device has a section, and
 * no section is newer than its device reads.
 */
final class DeviceStateLoader {
    private DeviceStateLoader() {
    }

    /** Checks everything first, then loads, so a mismatch leaves every device untouched. */
    static void load(List<DeviceSection> sections, List<? extends DeviceStateCodec> devices) {
        Map<String, DeviceSection> byId = check(sections, devices);
        for (DeviceStateCodec device : devices) {
            DeviceSection section = byId.get(device.sectionId());
            if (section != null) {
                loadOne(device, section);
            }
        }
    }

    /** Refuses a state whose device sections do not fit these devices; returns the sections by id. */
    static Map<String, DeviceSection> check(List<DeviceSection> sections, List<? extends DeviceStateCodec> devices) {
        Map<String, DeviceSection> byId = new HashMap<>();
        for (DeviceSection section : sections) {
            if (byId.putIfAbsent(section.id(), section) != null) {
                throw new StateFormatException("VM state has two '" + section.id() + "' device sections");
            }
        }
        Map<String, DeviceStateCodec> deviceById = new HashMap<>();
        for (DeviceStateCodec device : devices) {
            if (deviceById.putIfAbsent(device.sectionId(), device) != null) {
                throw new IllegalArgumentException("two devices use section id '" + device.sectionId() + "'");
            }
            DeviceSection section = byId.get(device.sectionId());
            if (section == null && !device.optional()) {
                throw new StateFormatException("VM state has no section '" + device.sectionId()
                        + "' for a device of this VM");
            }
            if (section != null && section.version() > device.version()) {
                throw new StateFormatException("state section '" + section.id() + "' is version " + section.version()
                        + "; this VMM reads up to " + device.version());
            }
        }
        for (DeviceSection section : sections) {
            if (!deviceById.containsKey(section.id()) && !section.optional()) {
                throw new StateFormatException("state section '" + section.id()
                        + "' is unknown to this VMM (no device of this VM has that id) and not optional");
            }
        }
        return byId;
    }

    private static void loadOne(DeviceStateCodec device, DeviceSection section) {
        ByteBuffer payload = ByteBuffer.wrap(section.payload()).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        try {
            device.load(section.version(), payload);
        } catch (BufferUnderflowException e) {
            throw new StateFormatException("state section '" + section.id() + "' (version " + section.version()
                    + ", " + section.payload().length + " bytes) is too short for its device", e);
        }
    }
}
