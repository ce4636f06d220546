package dev.ferry.destination;

import com.google.protobuf.ByteString;
import dev.ferry.proto.v1.Digests;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.MigratableVm;

import java.nio.ByteOrder;
import java.util.List;
import java.util.zip.CRC32C;

/** The source's per-page digests at the stop instant, and the check of the installed pages against them. */
final class PageDigestCheck {
    static final int MAX_DIGESTS_PER_FRAME = 262_144;

    private final int[] expected;
    private int received;

    PageDigestCheck(long pageCount) {
        if (pageCount > Integer.MAX_VALUE) {
            throw new ProtocolViolation("verify is limited to " + Integer.MAX_VALUE + " pages, the VM has " + pageCount);
        }
        this.expected = new int[(int) pageCount];
    }

    void accept(Digests digests) {
        if (digests.getFirstPage() != received) {
            throw new ProtocolViolation("digests for page " + digests.getFirstPage() + " where page " + received
                    + " was next");
        }
        int count = digests.getCount();
        if (count < 1 || count > MAX_DIGESTS_PER_FRAME || (long) received + count > expected.length) {
            throw new ProtocolViolation("digests frame of " + count + " pages from page " + received
                    + " does not fit a VM of " + expected.length + " pages");
        }
        ByteString bytes = digests.getCrc32C();
        if (bytes.size() != count * 4) {
            throw new ProtocolViolation("digests frame has " + bytes.size() + " bytes for " + count + " pages");
        }
        bytes.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(expected, received, count);
        received += count;
    }

    /** Throws naming the first page that differs. */
    void verify(List<GuestRam> ram) {
        if (received != expected.length) {
            throw new ProtocolViolation("verify: digests cover " + received + " of " + expected.length + " pages");
        }
        CRC32C crc = new CRC32C();
        for (GuestRam region : ram) {
            long pages = region.region().pages();
            for (long i = 0; i < pages; i++) {
                int page = (int) (region.firstPage() + i);
                crc.reset();
                crc.update(region.memory().asSlice(i * MigratableVm.PAGE_SIZE, MigratableVm.PAGE_SIZE).asByteBuffer());
                int actual = (int) crc.getValue();
                if (actual != expected[page]) {
                    throw new ProtocolViolation("verify: page " + page + " differs from the source's at the stop instant"
                            + " (source CRC32C 0x" + Integer.toHexString(expected[page]) + ", destination 0x"
                            + Integer.toHexString(actual) + ")");
                }
            }
        }
    }
}
