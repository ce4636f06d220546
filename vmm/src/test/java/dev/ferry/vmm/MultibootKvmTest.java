package dev.ferry.vmm;

import dev.ferry.vmm.boot.MultibootKernel;
import dev.ferry.vmm.devices.TextCapture;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;

import static dev.ferry.vmm.GuestPrograms.bytes;
import static dev.ferry.vmm.GuestPrograms.concat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Multiboot v1 kernels built in the test, as an a.out-kludge image and as an ELF32 file. */
@RequiresKvm
class MultibootKvmTest {
    private static final int MEMORY = 8 << 20;
    private static final int ENTRY = 0x100020;

    /**
     * 32-bit code: checks EAX = 0x2BADB002 ('M' on 0xE9, or 'X' when wrong), then writes mem_upper and the
     * info flags (4 bytes each) to port 0xE9 and asks the i8042 for a reset.
     */
    private static final byte[] KERNEL_CODE = concat(
            bytes(0x3D, 0x02, 0xB0, 0xAD, 0x2B),  // cmp eax, 0x2badb002
            bytes(0x75, 0x13),                    // jne bad
            bytes(0x66, 0xBA, 0xE9, 0x00),        // mov dx, 0xe9
            bytes(0xB0, 'M'),                     // mov al, 'M'
            bytes(0xEE),                          // out dx, al
            bytes(0x8B, 0x43, 0x08),              // mov eax, [ebx + 8]: mem_upper
            bytes(0xEF),                          // out dx, eax
            bytes(0x8B, 0x03),                    // mov eax, [ebx]: flags
            bytes(0xEF),                          // out dx, eax
            GuestPrograms.RESET_VIA_I8042,
            bytes(0x66, 0xBA, 0xE9, 0x00, 0xB0, 'X', 0xEE),  // bad: 'X'
            GuestPrograms.RESET_VIA_I8042);

    @Test
    void anAoutKludgeKernelGetsTheMultibootMagicAndTheMemoryInfo() throws Exception {
        assertEquals("M" + le(7 * 1024) + le(0x245), run(aoutKernel()));
    }

    @Test
    void anElfKernelIsLoadedFromItsProgramHeaders() throws Exception {
        assertEquals("M" + le(7 * 1024) + le(0x245), run(elfKernel()));
    }

    @Test
    void anImageWithoutAMultibootHeaderIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MultibootKernel(new byte[9000]));
        assertTrue(e.getMessage().contains("no Multiboot header"), e.getMessage());
        byte[] badChecksum = aoutKernel();
        badChecksum[8]++;
        e = assertThrows(IllegalArgumentException.class, () -> new MultibootKernel(badChecksum));
        assertTrue(e.getMessage().contains("bad checksum"), e.getMessage());
    }

    private static String run(byte[] kernel) throws Exception {
        TextCapture debug = new TextCapture();
        try (KvmVm vm = KvmVm.create(VmConfig.of("multiboot", MEMORY, 1, new MultibootKernel(kernel))
                .withDebugConsole(debug).withCommandLine("console=ttyS0"))) {
            vm.resume();
            assertTrue(vm.awaitStopped(Duration.ofSeconds(10)));
            assertEquals("guest requested reset via i8042", vm.stopReason().orElseThrow());
            return debug.text();
        }
    }

    private static String le(int value) {
        return new String(new char[] {(char) (value & 0xff), (char) ((value >> 8) & 0xff),
                (char) ((value >> 16) & 0xff), (char) (value >>> 24)});
    }

    /** Header at offset 0 with flag 16: header_addr = load_addr = 1 MiB, code at offset 0x20. */
    private static byte[] aoutKernel() {
        ByteBuffer image = ByteBuffer.allocate(0x20 + KERNEL_CODE.length).order(ByteOrder.LITTLE_ENDIAN);
        int flags = 0x00010003;
        image.putInt(0x1BADB002).putInt(flags).putInt(-(0x1BADB002 + flags));
        image.putInt(0x100000).putInt(0x100000).putInt(0).putInt(0).putInt(ENTRY);
        image.put(0x20, KERNEL_CODE);
        return image.array();
    }

    /** An ELF32 file whose one PT_LOAD segment puts a header-only-flags Multiboot header and the code at 1 MiB. */
    private static byte[] elfKernel() {
        int segmentOffset = 0x1000;
        ByteBuffer elf = ByteBuffer.allocate(segmentOffset + 0x20 + KERNEL_CODE.length).order(ByteOrder.LITTLE_ENDIAN);
        elf.put(new byte[] {0x7f, 'E', 'L', 'F', 1, 1, 1, 0});
        elf.position(16);
        elf.putShort((short) 2).putShort((short) 3).putInt(1); // ET_EXEC, EM_386, version
        elf.putInt(ENTRY).putInt(52).putInt(0).putInt(0);      // entry, phoff, shoff, flags
        elf.putShort((short) 52).putShort((short) 32).putShort((short) 1); // ehsize, phentsize, phnum
        elf.putShort((short) 40).putShort((short) 0).putShort((short) 0);
        elf.position(52);
        int size = 0x20 + KERNEL_CODE.length;
        elf.putInt(1).putInt(segmentOffset).putInt(0x100000).putInt(0x100000) // PT_LOAD, offset, vaddr, paddr
                .putInt(size).putInt(size + 0x100).putInt(5).putInt(0x1000);   // filesz, memsz (+bss), R+X, align
        int flags = 0x3;
        elf.position(segmentOffset);
        elf.putInt(0x1BADB002).putInt(flags).putInt(-(0x1BADB002 + flags));
        elf.put(segmentOffset + 0x20, KERNEL_CODE);
        return elf.array();
    }
}
