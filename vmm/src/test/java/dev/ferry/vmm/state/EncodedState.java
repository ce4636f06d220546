package dev.ferry.vmm.state;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.zip.CRC32C;

/**
 * Encoded VM state taken apart into its sections so a test can forge variants (a newer version, a
 * missing or foreign section) that are otherwise well-formed, checksum included.
 */
final class EncodedState {
    final int formatVersion;
    final List<Section> sections;

    static final class Section {
        String id;
        int version;
        int flags;
        int instance;
        byte[] payload;

        Section(String id, int version, int flags, int instance, byte[] payload) {
            this.id = id;
            this.version = version;
            this.flags = flags;
            this.instance = instance;
            this.payload = payload;
        }
    }

    private EncodedState(int formatVersion, List<Section> sections) {
        this.formatVersion = formatVersion;
        this.sections = sections;
    }

    static EncodedState parse(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        in.position(8);
        int formatVersion = in.getShort();
        in.getShort();
        int count = in.getInt();
        List<Section> sections = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] id = new byte[4];
            in.get(id);
            int version = in.getShort();
            int flags = in.getShort();
            int instance = in.getInt();
            byte[] payload = new byte[in.getInt()];
            in.get(payload);
            sections.add(new Section(new String(id, StandardCharsets.US_ASCII), version, flags, instance, payload));
        }
        return new EncodedState(formatVersion, sections);
    }

    Section first(String id) {
        return sections.stream().filter(s -> s.id.equals(id)).findFirst().orElseThrow();
    }

    EncodedState without(Predicate<Section> drop) {
        sections.removeIf(drop);
        return this;
    }

    byte[] bytes() {
        return bytes(formatVersion);
    }

    byte[] bytes(int version) {
        int size = 16 + 4 + sections.stream().mapToInt(s -> 16 + s.payload.length).sum();
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        out.put("FERRYVM\0".getBytes(StandardCharsets.US_ASCII)).putShort((short) version).putShort((short) 0)
                .putInt(sections.size());
        for (Section s : sections) {
            out.put(s.id.getBytes(StandardCharsets.US_ASCII)).putShort((short) s.version).putShort((short) s.flags)
                    .putInt(s.instance).putInt(s.payload.length).put(s.payload);
        }
        CRC32C crc = new CRC32C();
        crc.update(out.array(), 0, out.position());
        out.putInt((int) crc.getValue());
        return out.array();
    }
}
