package dev.ferry.vmm.boot;

import dev.ferry.vmm.kvm.VcpuFd;
import dev.ferry.vmm.memory.GuestMemory;

/**
 * A 512-byte PC boot sector, loaded at 0x7C00 and entered in real mode at 0000:7C00 with DL = 0x80 (first
 * hard disk), segments 0 and SP = 0x7C00, as a PC BIOS hands over.
 */
public record BootSector(byte[] image) implements BootSource {
    public static final int SIZE = 512;
    public static final long LOAD_ADDRESS = 0x7c00;

    public BootSector {
        if (image.length != SIZE) {
            throw new IllegalArgumentException("a boot sector is exactly 512 bytes; this image has " + image.length);
        }
        if ((image[510] & 0xff) != 0x55 || (image[511] & 0xff) != 0xaa) {
            throw new IllegalArgumentException(String.format(
                    "boot sector lacks the 0x55 0xAA signature at offset 510 (found 0x%02X 0x%02X)",
                    image[510] & 0xff, image[511] & 0xff));
        }
        image = image.clone();
    }

    public static BootSector fromFile(java.nio.file.Path file) {
        return new BootSector(BootSource.read(file));
    }

    @Override
    public void load(GuestMemory memory, VcpuFd bootVcpu, String commandLine) {
        memory.write(LOAD_ADDRESS, image);
        try (EntryState entry = new EntryState(bootVcpu)) {
            for (long segment : new long[] {EntryState.CS, EntryState.DS, EntryState.ES, EntryState.FS,
                    EntryState.GS, EntryState.SS}) {
                entry.realModeSegment(segment, 0);
            }
            entry.reg(EntryState.RIP, LOAD_ADDRESS)
                    .reg(EntryState.RSP, LOAD_ADDRESS)
                    .reg(EntryState.RDX, 0x80)
                    .reg(EntryState.RFLAGS, 0x2)
                    .apply();
        }
    }

    @Override
    public String describe() {
        return "boot sector";
    }
}
