package dev.ferry.source;

import dev.ferry.vm.GuestRam;

import java.util.List;
import java.util.zip.CRC32C;

/** CRC32C of each page (hardware-accelerated by the JDK), as little-endian uint32s: the verify digests. */
final class PageDigests {
    private PageDigests() {
    }

    static byte[] of(List<GuestRam> ram, long firstPage, int count) {
        byte[] digests = new byte[count * 4];
        CRC32C crc = new CRC32C();
        int region = 0;
        for (int i = 0; i < count; i++) {
            long page = firstPage + i;
            while (!ram.get(region).contains(page)) {
                region++;
            }
            crc.reset();
            crc.update(ram.get(region).page(page).asByteBuffer());
            int value = (int) crc.getValue();
            digests[i * 4] = (byte) value;
            digests[i * 4 + 1] = (byte) (value >>> 8);
            digests[i * 4 + 2] = (byte) (value >>> 16);
            digests[i * 4 + 3] = (byte) (value >>> 24);
        }
        return digests;
    }
}
