package dev.ferry.vmm.state;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The byte format on its own: what it writes, what it reads back, and everything it refuses. */
class VmStateCodecTest {
    private final Random random = new Random(42);
    private final VersionedDevice uart = new VersionedDevice("COM1", 2, false);
    private final VmStateCodec codec = new VmStateCodec(List.of(uart));

    @Test
    void aStateReadsBackAsItWasWritten() {
        VmState state = sampleState(2);
        VmState read = codec.decode(codec.encode(state));

        assertArrayEquals(state.clock(), read.clock());
        assertArrayEquals(state.pit(), read.pit());
        assertArrayEquals(state.irqchip().picMaster(), read.irqchip().picMaster());
        assertArrayEquals(state.irqchip().picSlave(), read.irqchip().picSlave());
        assertArrayEquals(state.irqchip().ioapic(), read.irqchip().ioapic());
        assertEquals(2, read.vcpus().size());
        for (int i = 0; i < 2; i++) {
            VcpuState a = state.vcpus().get(i);
            VcpuState b = read.vcpus().get(i);
            assertEquals(i, b.id());
            assertArrayEquals(a.regs(), b.regs());
            assertArrayEquals(a.sregs(), b.sregs());
            assertArrayEquals(a.xsave(), b.xsave());
            assertArrayEquals(a.xcrs(), b.xcrs());
            assertEquals(a.msrs(), b.msrs());
            assertArrayEquals(a.lapic(), b.lapic());
            assertArrayEquals(a.events(), b.events());
            assertArrayEquals(a.mpState(), b.mpState());
            assertArrayEquals(a.debugregs(), b.debugregs());
        }
        assertEquals(1, read.devices().size());
        DeviceSection device = read.devices().getFirst();
        assertEquals("COM1", device.id());
        assertEquals(2, device.version());
        assertArrayEquals(state.devices().getFirst().payload(), device.payload());
    }

    @Test
    void aLargerXsaveAreaFromXsave2ReadsBack() {
        VmState state = sampleState(1);
        VcpuState vcpu = state.vcpus().getFirst();
        VcpuState amx = new VcpuState(0, vcpu.regs(), vcpu.sregs(), randomBytes(11008), vcpu.xcrs(), vcpu.msrs(),
                vcpu.lapic(), vcpu.events(), vcpu.mpState(), vcpu.debugregs());
        VmState read = codec.decode(codec.encode(
                new VmState(state.clock(), state.irqchip(), state.pit(), List.of(amx), state.devices())));
        assertArrayEquals(amx.xsave(), read.vcpus().getFirst().xsave());
    }

    @Test
    void aNewerFormatVersionIsRefused() {
        byte[] newer = EncodedState.parse(codec.encode(sampleState(1))).bytes(2);
        assertRefused(newer, "VM state format is version 2; this VMM reads up to 1");
    }

    @Test
    void aNewerSectionVersionIsRefusedNamingTheSection() {
        EncodedState file = EncodedState.parse(codec.encode(sampleState(1)));
        file.first("LAPC").version = 3;
        assertRefused(file.bytes(), "state section 'lapic' is version 3; this VMM reads up to 1");
    }

    @Test
    void aNewerDeviceSectionVersionIsRefusedNamingTheSection() {
        EncodedState file = EncodedState.parse(codec.encode(sampleState(1)));
        file.first("COM1").version = 3;
        assertRefused(file.bytes(), "state section 'COM1' is version 3; this VMM reads up to 2");
    }

    @Test
    void anOlderDeviceSectionVersionLoadsThroughTheDevicesOwnReader() {
        VersionedDevice oldUart = new VersionedDevice("COM1", 1, false);
        oldUart.value = 0x1234_5678;
        VmState saved = sampleState(1);
        saved = new VmState(saved.clock(), saved.irqchip(), saved.pit(), saved.vcpus(),
                List.of(new DeviceSection("COM1", 1, false, oldUart.save())));

        VmState read = codec.decode(new VmStateCodec(List.of(oldUart)).encode(saved));
        DeviceStateLoader.load(read.devices(), List.of(uart));

        assertEquals(1, uart.loadedVersion);
        assertEquals(0x1234_5678, uart.value);
        assertEquals(VersionedDevice.V2_DEFAULT_EXTRA, uart.extra, "a field version 1 lacks gets its default");
    }

    @Test
    void anUnknownRequiredSectionIsRefusedNamingIt() {
        EncodedState file = EncodedState.parse(codec.encode(sampleState(1)));
        file.sections.add(new EncodedState.Section("VGA0", 1, 0, 0, new byte[16]));
        assertRefused(file.bytes(), "state section 'VGA0' is unknown to this VMM");
    }

    @Test
    void anUnknownOptionalSectionIsSkipped() {
        EncodedState file = EncodedState.parse(codec.encode(sampleState(1)));
        file.sections.add(new EncodedState.Section("VGA0", 1, VmStateCodec.FLAG_OPTIONAL, 0, new byte[16]));
        VmState read = codec.decode(file.bytes());
        assertEquals(List.of("COM1"), read.devices().stream().map(DeviceSection::id).toList());
    }

    @Test
    void aMissingVcpuSectionIsRefusedNamingItAndTheVcpu() {
        EncodedState file = EncodedState.parse(codec.encode(sampleState(2)));
        file.without(s -> s.id.equals("LAPC") && s.instance == 1);
        assertRefused(file.bytes(), "VM state has no 'lapic' section for vCPU 1");
    }

    @Test
    void aMissingDeviceSectionIsRefused() {
        EncodedState file = EncodedState.parse(codec.encode(sampleState(1)));
        file.without(s -> s.id.equals("COM1"));
        assertRefused(file.bytes(), "VM state has no section 'COM1' for a device of this VM");
    }

    @Test
    void aFixedSizeSectionOfTheWrongLengthIsRefused() {
        EncodedState file = EncodedState.parse(codec.encode(sampleState(1)));
        file.first("REGS").payload = new byte[143];
        assertRefused(file.bytes(), "state section 'regs' of vCPU 0 is 143 bytes; version 1 has 144");
    }

    @Test
    void everyTruncationIsRefusedWithAClearMessage() {
        byte[] whole = codec.encode(sampleState(1));
        for (int length = 0; length < whole.length; length++) {
            byte[] cut = Arrays.copyOf(whole, length);
            StateFormatException refused = assertThrows(StateFormatException.class, () -> codec.decode(cut),
                    "a state cut to " + length + " bytes");
            assertTrue(refused.getMessage().contains("truncated") || refused.getMessage().contains("magic")
                    || refused.getMessage().contains("checksum"), refused.getMessage());
        }
        assertRefused(Arrays.copyOf(whole, 1000), "VM state truncated: section");
    }

    @Test
    void everyCorruptedByteIsRefusedAndNeverCrashesTheReader() {
        byte[] whole = codec.encode(sampleState(1));
        for (int position = 0; position < whole.length; position++) {
            byte[] corrupt = whole.clone();
            corrupt[position] ^= 0x5A;
            try {
                codec.decode(corrupt);
                fail("a state with byte " + position + " flipped was accepted");
            } catch (StateFormatException expected) {
                // the message names what is wrong; any other exception type would fail the test
            }
        }
    }

    @Test
    void aSectionCountLargerThanTheSectionsIsRefused() {
        byte[] file = EncodedState.parse(codec.encode(sampleState(1))).bytes();
        file[12]++; // the header's section count
        assertRefused(file, "VM state truncated: section");
    }

    @Test
    void bytesAfterTheLastSectionAreRefused() {
        byte[] file = EncodedState.parse(codec.encode(sampleState(1))).bytes();
        byte[] longer = new byte[file.length + 5];
        System.arraycopy(file, 0, longer, 0, file.length - 4);
        System.arraycopy(file, file.length - 4, longer, longer.length - 4, 4);
        assertRefused(longer, "VM state has 5 unexpected bytes after its last section");
    }

    @Test
    void aDevicePayloadTooShortForItsVersionIsReportedAsACorruptSection() {
        List<DeviceSection> sections = List.of(new DeviceSection("COM1", 2, false, new byte[6]));
        StateFormatException refused = assertThrows(StateFormatException.class,
                () -> DeviceStateLoader.load(sections, List.of(uart)));
        assertEquals("state section 'COM1' (version 2, 6 bytes) is too short for its device", refused.getMessage());
    }

    @Test
    void somethingElseIsNotMistakenForAState() {
        assertRefused("#!/bin/sh\necho hello\n".getBytes(), "not a Ferry VM state");
    }

    private void assertRefused(byte[] bytes, String messageStart) {
        StateFormatException refused = assertThrows(StateFormatException.class, () -> codec.decode(bytes));
        assertTrue(refused.getMessage().startsWith(messageStart), refused.getMessage());
    }

    private VmState sampleState(int vcpuCount) {
        List<VcpuState> vcpus = new ArrayList<>();
        for (int id = 0; id < vcpuCount; id++) {
            List<Msr> msrs = List.of(new Msr(0x10, random.nextLong()), new Msr(0xc0000081, random.nextLong()),
                    new Msr(0x4b564d01, random.nextLong()));
            vcpus.add(new VcpuState(id, randomBytes(144), randomBytes(312), randomBytes(4096), randomBytes(392), msrs,
                    randomBytes(1024), randomBytes(64), randomBytes(4), randomBytes(128)));
        }
        uart.value = random.nextInt();
        return new VmState(randomBytes(48), new IrqchipState(randomBytes(512), randomBytes(512), randomBytes(512)),
                randomBytes(112), vcpus, List.of(new DeviceSection("COM1", 2, false, uart.save())));
    }

    private byte[] randomBytes(int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }

    /** A device whose layout grew: version 1 holds one int, version 2 adds a second. */
    private static final class VersionedDevice implements DeviceStateCodec {
        static final int V2_DEFAULT_EXTRA = 7;
        private final String id;
        private final int version;
        private final boolean optional;
        int value;
        int extra = V2_DEFAULT_EXTRA;
        int loadedVersion;

        VersionedDevice(String id, int version, boolean optional) {
            this.id = id;
            this.version = version;
            this.optional = optional;
        }

        @Override
        public String sectionId() {
            return id;
        }

        @Override
        public int version() {
            return version;
        }

        @Override
        public boolean optional() {
            return optional;
        }

        @Override
        public byte[] save() {
            ByteBuffer out = ByteBuffer.allocate(version == 1 ? 4 : 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            out.putInt(value);
            if (version >= 2) {
                out.putInt(extra);
            }
            return out.array();
        }

        @Override
        public void load(int savedVersion, ByteBuffer payload) {
            loadedVersion = savedVersion;
            value = payload.getInt();
            extra = savedVersion >= 2 ? payload.getInt() : V2_DEFAULT_EXTRA;
        }
    }
}
