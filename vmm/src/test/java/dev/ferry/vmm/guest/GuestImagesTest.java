package dev.ferry.vmm.guest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The guest images built from src/main/guest have the formats the VMM's loaders expect. */
class GuestImagesTest {
    private static final int MULTIBOOT_MAGIC = 0x1BADB002;
    private static final int MULTIBOOT_SEARCH_BYTES = 8192;
    private static final int FLAG_PAGE_ALIGN = 1;
    private static final int FLAG_MEMORY_INFO = 1 << 1;
    private static final int FLAG_AOUT_KLUDGE = 1 << 16;
    private static final int PT_LOAD = 1;
    private static final long ONE_MIB = 0x100000;
    private static final long WORKING_SET_BASE = 0x400000;

    @ParameterizedTest
    @ValueSource(strings = {"hello-bootsector.bin", "triple-fault.bin"})
    void bootSectorsAre512BytesWithTheBootSignature(String name) {
        byte[] image = new GuestImage(name).bytes();
        assertEquals(512, image.length, name);
        assertEquals(0x55, image[510] & 0xff, name + " signature byte 510");
        assertEquals(0xAA, image[511] & 0xff, name + " signature byte 511");
    }

    @Test
    void theHelloBootSectorCarriesItsGreeting() {
        String text = new String(new GuestImage("hello-bootsector.bin").bytes(), StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("Hello from a Ferry boot sector\r\n"), "greeting in the image");
    }

    @Test
    void theLongModePayloadIsAFlatBinaryThatFitsInOnePage() {
        byte[] image = new GuestImage("hello-longmode.bin").bytes();
        assertTrue(image.length > 0 && image.length <= 4096, "size " + image.length);
        assertTrue(image[0] != 0x7f || image[1] != 'E', "a flat binary, not an ELF file");
        String text = new String(image, StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("Hello from long mode\r\n"), "greeting in the image");
    }

    @Test
    void theWorkloadIsAnElf32I386Executable() {
        ByteBuffer elf = littleEndian(new GuestImage("workload.elf").bytes());
        assertEquals(0x7f, elf.get(0));
        assertEquals("ELF", new String(new byte[] {elf.get(1), elf.get(2), elf.get(3)}, StandardCharsets.US_ASCII));
        assertEquals(1, elf.get(4), "EI_CLASS: ELFCLASS32");
        assertEquals(1, elf.get(5), "EI_DATA: little-endian");
        assertEquals(2, elf.getShort(16), "e_type: ET_EXEC");
        assertEquals(3, elf.getShort(18), "e_machine: EM_386");
    }

    @Test
    void theWorkloadHasAValidMultibootHeaderInItsFirst8KiB() {
        ByteBuffer elf = littleEndian(new GuestImage("workload.elf").bytes());
        int header = multibootHeaderOffset(elf);
        assertEquals(0, header % 4, "the header is 32-bit aligned");
        int flags = elf.getInt(header + 4);
        int checksum = elf.getInt(header + 8);
        assertEquals(0, MULTIBOOT_MAGIC + flags + checksum, "magic + flags + checksum wraps to zero");
        assertEquals(FLAG_PAGE_ALIGN | FLAG_MEMORY_INFO | FLAG_AOUT_KLUDGE, flags, "flags");
    }

    /** A loader may use either the ELF program header or the a.out-kludge fields: both must agree. */
    @Test
    void theAoutKludgeFieldsDescribeTheSameBytesAsTheElfProgramHeader() {
        ByteBuffer elf = littleEndian(new GuestImage("workload.elf").bytes());
        int header = multibootHeaderOffset(elf);
        long headerAddr = unsigned(elf.getInt(header + 12));
        long loadAddr = unsigned(elf.getInt(header + 16));
        long loadEndAddr = unsigned(elf.getInt(header + 20));
        long bssEndAddr = unsigned(elf.getInt(header + 24));
        long entryAddr = unsigned(elf.getInt(header + 28));

        assertEquals(unsigned(elf.getInt(24)), entryAddr, "entry_addr = e_entry");
        int phoff = elf.getInt(28);
        int phentsize = elf.getShort(42) & 0xffff;
        int phnum = elf.getShort(44) & 0xffff;
        int loads = 0;
        for (int i = 0; i < phnum; i++) {
            int ph = phoff + i * phentsize;
            if (elf.getInt(ph) != PT_LOAD) {
                continue;
            }
            loads++;
            long offset = unsigned(elf.getInt(ph + 4));
            long paddr = unsigned(elf.getInt(ph + 12));
            long filesz = unsigned(elf.getInt(ph + 16));
            long memsz = unsigned(elf.getInt(ph + 20));
            assertEquals(paddr, loadAddr, "load_addr = p_paddr");
            assertEquals(offset, header - (headerAddr - loadAddr), "the kludge's file offset = p_offset");
            assertEquals(paddr + filesz, loadEndAddr, "load_end_addr = p_paddr + p_filesz");
            assertEquals(paddr + memsz, bssEndAddr, "bss_end_addr = p_paddr + p_memsz");
        }
        assertEquals(1, loads, "one loadable segment");
        assertEquals(ONE_MIB, loadAddr, "loaded at 1 MiB");
        assertTrue(loadAddr <= entryAddr && entryAddr < loadEndAddr, "entry inside the loaded bytes");
        assertTrue(bssEndAddr <= WORKING_SET_BASE, "the image stays below its working set at 4 MiB");
    }

    private static int multibootHeaderOffset(ByteBuffer elf) {
        int limit = Math.min(MULTIBOOT_SEARCH_BYTES, elf.capacity()) - 12;
        for (int offset = 0; offset <= limit; offset += 4) {
            if (elf.getInt(offset) == MULTIBOOT_MAGIC) {
                return offset;
            }
        }
        return fail("no Multiboot magic 0x1BADB002 in the first " + MULTIBOOT_SEARCH_BYTES + " bytes");
    }

    private static ByteBuffer littleEndian(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static long unsigned(int value) {
        return Integer.toUnsignedLong(value);
    }
}
