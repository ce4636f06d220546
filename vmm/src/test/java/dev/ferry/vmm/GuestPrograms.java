package dev.ferry.vmm;

import java.io.ByteArrayOutputStream;

/** Tiny hand-assembled guest programs for the KVM tests. */
public final class GuestPrograms {
    private GuestPrograms() {
    }

    static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    /** mov al, 0xFE; out 0x64, al; hlt: the i8042 reset request, which stops the VM. */
    static final byte[] RESET_VIA_I8042 = bytes(0xB0, 0xFE, 0xE6, 0x64, 0xF4);

    /**
     * 64-bit code that writes the byte 1 at each of {@code addresses} ({@code mov byte [addr32], 1}), then
     * requests a reset through the i8042, which stops the VM.
     */
    public static byte[] writingOneByteTo(int... addresses) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int address : addresses) {
            out.writeBytes(bytes(0xC6, 0x04, 0x25, address, address >> 8, address >> 16, address >> 24, 0x01));
        }
        out.writeBytes(RESET_VIA_I8042);
        return out.toByteArray();
    }

    /**
     * A real-mode boot sector that prints {@code text} on COM1 and then either requests a reset through the
     * i8042 or halts with interrupts off.
     */
    static byte[] bootSectorPrinting(String text, boolean resetAfter) {
        byte[] sector = new byte[512];
        int msg = 20;
        byte[] code = concat(
                bytes(0xBE, (0x7C00 + msg) & 0xff, (0x7C00 + msg) >> 8), // mov si, msg
                bytes(0xBA, 0xF8, 0x03),                                  // mov dx, 0x3f8
                bytes(0xAC),                                              // lodsb
                bytes(0x84, 0xC0),                                        // test al, al
                bytes(0x74, 0x03),                                        // jz done
                bytes(0xEE),                                              // out dx, al
                bytes(0xEB, 0xF8),                                        // jmp lodsb
                resetAfter ? bytes(0xB0, 0xFE, 0xE6, 0x64) : bytes(0x90, 0x90, 0x90, 0x90),
                bytes(0xFA, 0xF4));                                       // cli; hlt
        System.arraycopy(code, 0, sector, 0, code.length);
        byte[] message = text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(message, 0, sector, msg, message.length);
        sector[510] = 0x55;
        sector[511] = (byte) 0xAA;
        return sector;
    }
}
