package dev.ferry.vmm.state;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Turns a {@link VmState} into the self-describing, versioned byte format of
 * {@link dev.ferry.vmm.state} and back. Decoding checks every length before it reads, so truncated,
 * corrupt or too-new input ends in a {@link StateFormatException} that says what is wrong and where.
 *
 * <p>A codec knows the devices of the VM it decodes for: their section ids tell it which unknown
 * sections are device state, and their versions which device payloads are too new.
 */
public final class VmStateCodec {
    /** The newest format version this VMM writes and reads. */
    public static final int FORMAT_VERSION = 1;
    /** "FERRYVM" and a NUL. */
    static final byte[] MAGIC = "FERRYVM\0".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER_SIZE = 16;
    static final int SECTION_HEADER_SIZE = 16;
    static final int TRAILER_SIZE = 4;
    /** Section flag: a VMM that does not know the section may skip it. */
    static final int FLAG_OPTIONAL = 1;
    /** XSAVE areas are a few KiB; anything near this is corruption, not a CPU. */
    private static final int MAX_XSAVE_SIZE = 1 << 20;
    private static final int MSR_RECORD_SIZE = 12;

    private final Map<String, DeviceStateCodec> devices = new HashMap<>();

    /** A codec for a VM with these devices (their section ids must be unique and unlike the built-in ones). */
    public VmStateCodec(List<? extends DeviceStateCodec> devices) {
        for (DeviceStateCodec device : devices) {
            String id = SectionIds.requireValid(device.sectionId());
            if (BuiltinSection.byId(id) != null) {
                throw new IllegalArgumentException("device section id '" + id + "' is a built-in section id");
            }
            if (this.devices.putIfAbsent(id, device) != null) {
                throw new IllegalArgumentException("two devices use section id '" + id + "'");
            }
        }
    }

    public byte[] encode(VmState state) {
        List<RawSection> sections = new ArrayList<>();
        sections.add(builtin(BuiltinSection.CLOCK, 0, state.clock()));
        sections.add(builtin(BuiltinSection.IRQCHIP, 0, state.irqchip().picMaster()));
        sections.add(builtin(BuiltinSection.IRQCHIP, 1, state.irqchip().picSlave()));
        sections.add(builtin(BuiltinSection.IRQCHIP, 2, state.irqchip().ioapic()));
        sections.add(builtin(BuiltinSection.PIT, 0, state.pit()));
        for (VcpuState vcpu : state.vcpus()) {
            int id = vcpu.id();
            sections.add(builtin(BuiltinSection.REGS, id, vcpu.regs()));
            sections.add(builtin(BuiltinSection.SREGS, id, vcpu.sregs()));
            sections.add(builtin(BuiltinSection.XSAVE, id, vcpu.xsave()));
            sections.add(builtin(BuiltinSection.XCRS, id, vcpu.xcrs()));
            sections.add(builtin(BuiltinSection.MSRS, id, encodeMsrs(vcpu.msrs())));
            sections.add(builtin(BuiltinSection.LAPIC, id, vcpu.lapic()));
            sections.add(builtin(BuiltinSection.VCPU_EVENTS, id, vcpu.events()));
            sections.add(builtin(BuiltinSection.MP_STATE, id, vcpu.mpState()));
            sections.add(builtin(BuiltinSection.DEBUGREGS, id, vcpu.debugregs()));
        }
        for (DeviceSection device : state.devices()) {
            sections.add(new RawSection(device.id(), device.version(), device.optional() ? FLAG_OPTIONAL : 0, 0,
                    device.payload()));
        }

        long size = HEADER_SIZE + TRAILER_SIZE;
        for (RawSection section : sections) {
            size += SECTION_HEADER_SIZE + section.payload.length;
        }
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("VM state of " + size + " bytes does not fit one array");
        }
        ByteBuffer out = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).putShort((short) FORMAT_VERSION).putShort((short) 0).putInt(sections.size());
        for (RawSection section : sections) {
            out.put(SectionIds.bytes(section.id)).putShort((short) section.version).putShort((short) section.flags)
                    .putInt(section.instance).putInt(section.payload.length).put(section.payload);
        }
        CRC32C crc = new CRC32C();
        crc.update(out.array(), 0, out.position());
        out.putInt((int) crc.getValue());
        return out.array();
    }

    public VmState decode(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < MAGIC.length || !ByteBuffer.wrap(bytes, 0, MAGIC.length).equals(ByteBuffer.wrap(MAGIC))) {
            throw new StateFormatException("not a Ferry VM state: it does not start with the magic FERRYVM\\0");
        }
        if (bytes.length < HEADER_SIZE + TRAILER_SIZE) {
            throw new StateFormatException("VM state truncated: " + bytes.length + " bytes is shorter than its "
                    + (HEADER_SIZE + TRAILER_SIZE) + "-byte header and checksum");
        }
        in.position(MAGIC.length);
        int formatVersion = Short.toUnsignedInt(in.getShort());
        in.getShort(); // header flags: none defined in version 1
        if (formatVersion == 0) {
            throw new StateFormatException("VM state format version 0 is not a valid version");
        }
        if (formatVersion > FORMAT_VERSION) {
            throw new StateFormatException("VM state format is version " + formatVersion
                    + "; this VMM reads up to " + FORMAT_VERSION);
        }
        long count = Integer.toUnsignedLong(in.getInt());
        List<RawSection> sections = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            if (in.remaining() - TRAILER_SIZE < SECTION_HEADER_SIZE) {
                throw new StateFormatException("VM state truncated: section " + (i + 1) + " of " + count
                        + " starts at byte " + in.position() + " but its header does not fit");
            }
            byte[] rawId = new byte[4];
            in.get(rawId);
            String id = SectionIds.printable(rawId);
            int version = Short.toUnsignedInt(in.getShort());
            int flags = Short.toUnsignedInt(in.getShort());
            int instance = in.getInt();
            long length = Integer.toUnsignedLong(in.getInt());
            if (length > in.remaining() - TRAILER_SIZE) {
                throw new StateFormatException("VM state truncated: section '" + label(id) + "'" + where(id, instance)
                        + " declares " + length + " bytes but only " + Math.max(0, in.remaining() - TRAILER_SIZE)
                        + " remain before the checksum");
            }
            byte[] payload = new byte[(int) length];
            in.get(payload);
            sections.add(new RawSection(id, version, flags, instance, payload));
        }
        if (in.remaining() != TRAILER_SIZE) {
            throw new StateFormatException("VM state has " + (in.remaining() - TRAILER_SIZE)
                    + " unexpected bytes after its last section");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, in.position());
        int stored = in.getInt();
        if (stored != (int) crc.getValue()) {
            throw new StateFormatException(String.format(
                    "VM state checksum mismatch (stored 0x%08x, computed 0x%08x): the state is corrupt",
                    stored, (int) crc.getValue()));
        }
        return assemble(sections);
    }

    /** Payload bytes per section kind, summed over instances, in file order; for reports and sizing. */
    public static Map<String, Integer> payloadSizes(VmState state) {
        Map<String, Integer> sizes = new LinkedHashMap<>();
        sizes.merge("clock", state.clock().length, Integer::sum);
        sizes.merge("irqchip", state.irqchip().picMaster().length + state.irqchip().picSlave().length
                + state.irqchip().ioapic().length, Integer::sum);
        sizes.merge("pit", state.pit().length, Integer::sum);
        for (VcpuState vcpu : state.vcpus()) {
            sizes.merge("regs", vcpu.regs().length, Integer::sum);
            sizes.merge("sregs", vcpu.sregs().length, Integer::sum);
            sizes.merge("xsave", vcpu.xsave().length, Integer::sum);
            sizes.merge("xcrs", vcpu.xcrs().length, Integer::sum);
            sizes.merge("msrs", encodeMsrs(vcpu.msrs()).length, Integer::sum);
            sizes.merge("lapic", vcpu.lapic().length, Integer::sum);
            sizes.merge("vcpu-events", vcpu.events().length, Integer::sum);
            sizes.merge("mp-state", vcpu.mpState().length, Integer::sum);
            sizes.merge("debugregs", vcpu.debugregs().length, Integer::sum);
        }
        for (DeviceSection device : state.devices()) {
            sizes.merge(device.id(), device.payload().length, Integer::sum);
        }
        return sizes;
    }

    private VmState assemble(List<RawSection> sections) {
        Map<BuiltinSection, Map<Integer, byte[]>> builtins = new EnumMap<>(BuiltinSection.class);
        Map<Integer, List<Msr>> msrs = new HashMap<>();
        List<DeviceSection> deviceSections = new ArrayList<>();
        Map<String, Boolean> seenDevices = new HashMap<>();
        for (RawSection section : sections) {
            BuiltinSection builtin = BuiltinSection.byId(section.id);
            if (builtin != null) {
                requireReadableVersion(builtin.label, section.version, builtin.version);
                checkBuiltinLength(builtin, section);
                checkInstance(builtin, section.instance);
                if (builtins.computeIfAbsent(builtin, b -> new TreeMap<>())
                        .putIfAbsent(section.instance, section.payload) != null) {
                    throw new StateFormatException("VM state has two '" + builtin.label + "' sections"
                            + where(section.id, section.instance));
                }
                if (builtin == BuiltinSection.MSRS) {
                    msrs.put(section.instance, decodeMsrs(section.payload, section.instance));
                }
                continue;
            }
            DeviceStateCodec device = devices.get(section.id);
            boolean optional = (section.flags & FLAG_OPTIONAL) != 0;
            if (device == null) {
                if (optional) {
                    continue; // documented rule: an optional section this VMM does not know is skipped
                }
                throw new StateFormatException("state section '" + section.id
                        + "' is unknown to this VMM (no built-in section or device has that id) and not optional");
            }
            requireReadableVersion(section.id, section.version, device.version());
            if (seenDevices.put(section.id, Boolean.TRUE) != null) {
                throw new StateFormatException("VM state has two '" + section.id + "' device sections");
            }
            deviceSections.add(new DeviceSection(section.id, section.version, optional, section.payload));
        }

        byte[] clock = single(builtins, BuiltinSection.CLOCK);
        byte[] pit = single(builtins, BuiltinSection.PIT);
        Map<Integer, byte[]> chips = builtins.getOrDefault(BuiltinSection.IRQCHIP, Map.of());
        IrqchipState irqchip = new IrqchipState(chip(chips, 0), chip(chips, 1), chip(chips, 2));

        Map<Integer, byte[]> regs = builtins.getOrDefault(BuiltinSection.REGS, Map.of());
        int vcpuCount = regs.size();
        if (vcpuCount == 0) {
            throw new StateFormatException("VM state has no vCPU (no 'regs' section)");
        }
        List<VcpuState> vcpus = new ArrayList<>(vcpuCount);
        for (int id = 0; id < vcpuCount; id++) {
            vcpus.add(new VcpuState(id,
                    part(builtins, BuiltinSection.REGS, id),
                    part(builtins, BuiltinSection.SREGS, id),
                    part(builtins, BuiltinSection.XSAVE, id),
                    part(builtins, BuiltinSection.XCRS, id),
                    requirePart(msrs.get(id), BuiltinSection.MSRS, id),
                    part(builtins, BuiltinSection.LAPIC, id),
                    part(builtins, BuiltinSection.VCPU_EVENTS, id),
                    part(builtins, BuiltinSection.MP_STATE, id),
                    part(builtins, BuiltinSection.DEBUGREGS, id)));
        }
        for (BuiltinSection builtin : BuiltinSection.values()) {
            if (builtin.perVcpu && builtins.getOrDefault(builtin, Map.of()).size() != vcpuCount) {
                throw new StateFormatException("VM state has " + builtins.getOrDefault(builtin, Map.of()).size()
                        + " '" + builtin.label + "' sections for " + vcpuCount + " vCPUs");
            }
        }
        for (DeviceStateCodec device : devices.values()) {
            if (!device.optional() && !seenDevices.containsKey(device.sectionId())) {
                throw new StateFormatException("VM state has no section '" + device.sectionId()
                        + "' for a device of this VM");
            }
        }
        return new VmState(clock, irqchip, pit, vcpus, deviceSections);
    }

    private static void requireReadableVersion(String label, int version, int newest) {
        if (version == 0) {
            throw new StateFormatException("state section '" + label + "' has version 0, which is not valid");
        }
        if (version > newest) {
            throw new StateFormatException("state section '" + label + "' is version " + version
                    + "; this VMM reads up to " + newest);
        }
    }

    private static void checkBuiltinLength(BuiltinSection builtin, RawSection section) {
        int length = section.payload.length;
        boolean ok = switch (builtin) {
            case XSAVE -> length >= 4096 && length <= MAX_XSAVE_SIZE && length % 4 == 0;
            case MSRS -> length >= 4 && (length - 4) % MSR_RECORD_SIZE == 0;
            default -> length == builtin.length;
        };
        if (!ok) {
            String expected = switch (builtin) {
                case XSAVE -> "a multiple of 4 from 4096 to " + MAX_XSAVE_SIZE;
                case MSRS -> "4 + 12 per MSR";
                default -> String.valueOf(builtin.length);
            };
            throw new StateFormatException("state section '" + builtin.label + "'" + where(section.id, section.instance)
                    + " is " + length + " bytes; version " + section.version + " has " + expected);
        }
    }

    private static void checkInstance(BuiltinSection builtin, int instance) {
        boolean ok = switch (builtin) {
            case IRQCHIP -> instance >= 0 && instance <= 2;
            case CLOCK, PIT -> instance == 0;
            default -> instance >= 0 && instance < 4096; // KVM_MAX_VCPU_IDS is 4096 on x86-64
        };
        if (!ok) {
            throw new StateFormatException("state section '" + builtin.label + "' has instance " + instance
                    + ", which is out of range");
        }
    }

    private static byte[] single(Map<BuiltinSection, Map<Integer, byte[]>> builtins, BuiltinSection builtin) {
        byte[] payload = builtins.getOrDefault(builtin, Map.of()).get(0);
        if (payload == null) {
            throw new StateFormatException("VM state has no '" + builtin.label + "' section");
        }
        return payload;
    }

    private static byte[] chip(Map<Integer, byte[]> chips, int chipId) {
        byte[] chip = chips.get(chipId);
        if (chip == null) {
            throw new StateFormatException("VM state has no 'irqchip' section for chip " + chipId);
        }
        return chip;
    }

    private static byte[] part(Map<BuiltinSection, Map<Integer, byte[]>> builtins, BuiltinSection builtin, int vcpu) {
        return requirePart(builtins.getOrDefault(builtin, Map.of()).get(vcpu), builtin, vcpu);
    }

    private static <T> T requirePart(T part, BuiltinSection builtin, int vcpu) {
        if (part == null) {
            throw new StateFormatException("VM state has no '" + builtin.label + "' section for vCPU " + vcpu);
        }
        return part;
    }

    static byte[] encodeMsrs(List<Msr> msrs) {
        ByteBuffer out = ByteBuffer.allocate(4 + MSR_RECORD_SIZE * msrs.size()).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(msrs.size());
        for (Msr msr : msrs) {
            out.putInt(msr.index()).putLong(msr.value());
        }
        return out.array();
    }

    private static List<Msr> decodeMsrs(byte[] payload, int vcpu) {
        ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        long count = Integer.toUnsignedLong(in.getInt());
        if (count * MSR_RECORD_SIZE != in.remaining()) {
            throw new StateFormatException("state section 'msrs' of vCPU " + vcpu + " counts " + count
                    + " MSRs but holds " + in.remaining() / MSR_RECORD_SIZE);
        }
        List<Msr> msrs = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) {
            msrs.add(new Msr(in.getInt(), in.getLong()));
        }
        return msrs;
    }

    private static RawSection builtin(BuiltinSection builtin, int instance, byte[] payload) {
        return new RawSection(builtin.id, builtin.version, 0, instance, payload);
    }

    private static String label(String id) {
        BuiltinSection builtin = BuiltinSection.byId(id);
        return builtin == null ? id : builtin.label;
    }

    private static String where(String id, int instance) {
        BuiltinSection builtin = BuiltinSection.byId(id);
        if (builtin == null) {
            return "";
        }
        if (builtin.perVcpu) {
            return " of vCPU " + instance;
        }
        return builtin == BuiltinSection.IRQCHIP ? " for chip " + instance : "";
    }

    private record RawSection(String id, int version, int flags, int instance, byte[] payload) {
    }
}
