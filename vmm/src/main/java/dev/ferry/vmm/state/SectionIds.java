package dev.ferry.vmm.state;

import java.nio.charset.StandardCharsets;

/** Section ids: four printable ASCII characters, stored as four bytes. */
final class SectionIds {
    private SectionIds() {
    }

    static String requireValid(String id) {
        if (id == null || id.length() != 4 || !id.chars().allMatch(c -> c >= 0x20 && c < 0x7F)) {
            throw new IllegalArgumentException("section id '" + id + "' is not four printable ASCII characters");
        }
        return id;
    }

    static byte[] bytes(String id) {
        return requireValid(id).getBytes(StandardCharsets.US_ASCII);
    }

    /** The id as read from a file, with anything unprintable shown as an escape so messages stay readable. */
    static String printable(byte[] raw) {
        StringBuilder id = new StringBuilder(4);
        for (byte b : raw) {
            if (b >= 0x20 && b < 0x7F) {
                id.append((char) b);
            } else {
                id.append(String.format("\\x%02x", b & 0xFF));
            }
        }
        return id.toString();
    }
}
