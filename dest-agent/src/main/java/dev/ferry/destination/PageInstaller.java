package dev.ferry.destination;

import dev.ferry.proto.v1.PageBatch;
import dev.ferry.proto.v1.PageKind;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.MigratableVm;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Checks a page batch completely, then copies its pages straight from the received bytes (the transport's own
 * buffers, see {@link ReceivedFrameMarshaller}) into the destination VM's off-heap RAM (one copy per page).
 * Nothing is installed from a batch that fails a check.
 */
final class PageInstaller {
    static final int MAX_PAGES_PER_BATCH = 256;
    private static final int PAGE = MigratableVm.PAGE_SIZE;

    private final MigratableVm vm;
    private final List<GuestRam> ram;
    private final long pageCount;
    // The decompressor that checks its input: batch payloads come from the network.
    private final LZ4SafeDecompressor lz4 = LZ4Factory.fastestInstance().safeDecompressor();
    private final boolean lz4Allowed;
    // LZ4 input is staged here: lz4-java's native path needs an array-backed or direct source, and a
    // received payload is read-only views, and a page may straddle two. Only compressed bytes (< 4 KiB) pass here.
    private final byte[] compressed = new byte[PAGE];
    private final ByteBuffer compressedBuffer = ByteBuffer.wrap(compressed);
    private final MemorySegment compressedSegment = MemorySegment.ofArray(compressed);

    private long pagesInstalled;
    private long payloadBytes;
    private long lastPage = -1;

    PageInstaller(MigratableVm vm, boolean lz4Allowed) {
        this.vm = vm;
        this.ram = vm.ram();
        this.pageCount = vm.shape().pageCount();
        this.written = new BitSet(Math.toIntExact(pageCount));
        this.lz4Allowed = lz4Allowed;
    }

    /** Pages this installer wrote non-zero bytes into; every other page still holds the zeros it started with. */
    private final BitSet written;

    long pagesInstalled() {
        return pagesInstalled;
    }

    long payloadBytes() {
        return payloadBytes;
    }

    /** The page number the last batch installed ended with (-1 before the first). */
    long lastPage() {
        return lastPage;
    }

    /**
     * Installs {@code batch}, whose {@code data} field is {@code data} (views that need only be valid during the
     * call); returns the number of pages installed.
     */
    int install(PageBatch batch, List<ByteBuffer> data) {
        // Sliced: a field aliasing the received frame is a view starting at its offset in the frame, and the
        // reads below index from the field's start.
        ByteBuffer numbers = batch.getPageNumbers().asReadOnlyByteBuffer().slice().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer kinds = batch.getKinds().asReadOnlyByteBuffer().slice();
        ByteBuffer sizes = batch.getCompressedSizes().asReadOnlyByteBuffer().slice().order(ByteOrder.LITTLE_ENDIAN);
        long dataSize = ReceivedFrame.size(data);

        if (numbers.remaining() % 8 != 0) {
            throw new ProtocolViolation("batch " + batch.getSequence() + ": page_numbers is " + numbers.remaining()
                    + " bytes, not a multiple of 8");
        }
        int pages = numbers.remaining() / 8;
        if (pages < 1 || pages > MAX_PAGES_PER_BATCH) {
            throw new ProtocolViolation("batch " + batch.getSequence() + " has " + pages + " pages, allowed 1.."
                    + MAX_PAGES_PER_BATCH);
        }
        if (kinds.remaining() != pages) {
            throw new ProtocolViolation("batch " + batch.getSequence() + ": " + kinds.remaining() + " kinds for "
                    + pages + " pages");
        }
        CRC32C crc = new CRC32C();
        crc.update(numbers.duplicate());
        crc.update(kinds.duplicate());
        crc.update(sizes.duplicate());
        for (ByteBuffer piece : data) {
            crc.update(piece.duplicate());
        }
        int actualCrc = (int) crc.getValue();
        if (actualCrc != batch.getCrc32C()) {
            throw new ProtocolViolation("batch " + batch.getSequence() + ": CRC32C mismatch (frame says 0x"
                    + Integer.toHexString(batch.getCrc32C()) + ", contents give 0x" + Integer.toHexString(actualCrc) + ")");
        }

        long expectedData = 0;
        int lz4Pages = 0;
        for (int i = 0; i < pages; i++) {
            long page = numbers.getLong(i * 8);
            if (page < 0 || page >= pageCount) {
                throw new ProtocolViolation("batch " + batch.getSequence() + ": page " + Long.toUnsignedString(page)
                        + " outside the VM's " + pageCount + " pages");
            }
            int kind = kinds.get(i);
            switch (kind) {
                case PageKind.PAGE_KIND_ZERO_VALUE -> { }
                case PageKind.PAGE_KIND_RAW_VALUE -> expectedData += PAGE;
                case PageKind.PAGE_KIND_LZ4_VALUE -> {
                    if (!lz4Allowed) {
                        throw new ProtocolViolation("batch " + batch.getSequence()
                                + ": LZ4 page without the LZ4 capability in Hello");
                    }
                    if (sizes.remaining() < (lz4Pages + 1) * 4) {
                        throw new ProtocolViolation("batch " + batch.getSequence()
                                + ": compressed_sizes shorter than its LZ4 pages");
                    }
                    int size = sizes.getInt(lz4Pages * 4);
                    if (size < 1 || size >= PAGE) {
                        throw new ProtocolViolation("batch " + batch.getSequence() + ": LZ4 page of " + size
                                + " bytes, allowed 1.." + (PAGE - 1));
                    }
                    expectedData += size;
                    lz4Pages++;
                }
                default -> throw new ProtocolViolation("batch " + batch.getSequence() + ": page kind " + kind
                        + " is not a PageKind");
            }
        }
        if (sizes.remaining() != lz4Pages * 4) {
            throw new ProtocolViolation("batch " + batch.getSequence() + ": compressed_sizes is " + sizes.remaining()
                    + " bytes for " + lz4Pages + " LZ4 pages");
        }
        if (expectedData != dataSize) {
            throw new ProtocolViolation("batch " + batch.getSequence() + ": data is " + dataSize
                    + " bytes, its kinds and sizes say " + expectedData);
        }

        backNewPages(numbers, kinds, pages);
        Payload payload = new Payload(data);
        int lz4Index = 0;
        for (int i = 0; i < pages; i++) {
            long page = numbers.getLong(i * 8);
            // The region's memory and an offset rather than a slice per page: this loop runs for every page
            // migrated, and the VMMs run C1, which allocates whatever a method creates.
            GuestRam region = regionOf(page);
            MemorySegment memory = region.memory();
            long at = (page - region.firstPage()) * PAGE;
            byte kind = kinds.get(i);
            if (kind == PageKind.PAGE_KIND_ZERO_VALUE) {
                // RAM arrives all zero (VmFactory's contract): writing zeros to a page never written would only
                // cost a page fault and a backed page.
                if (written.get((int) page)) {
                    memory.asSlice(at, PAGE).fill((byte) 0);
                    written.clear((int) page);
                }
                continue;
            }
            written.set((int) page);
            switch (kind) {
                case PageKind.PAGE_KIND_RAW_VALUE -> payload.copyTo(memory, at, PAGE);
                default -> {
                    int size = sizes.getInt(lz4Index++ * 4);
                    payload.copyTo(compressedSegment, 0, size);
                    int produced;
                    try {
                        produced = lz4.decompress(compressedBuffer, 0, size, memory.asSlice(at, PAGE).asByteBuffer(), 0, PAGE);
                    } catch (RuntimeException e) {
                        throw new ProtocolViolation("batch " + batch.getSequence() + ": LZ4 page does not decompress: "
                                + e.getMessage());
                    }
                    if (produced != PAGE) {
                        throw new ProtocolViolation("batch " + batch.getSequence() + ": LZ4 page decompresses to "
                                + produced + " bytes, not " + PAGE);
                    }
                }
            }
        }
        pagesInstalled += pages;
        payloadBytes += dataSize;
        lastPage = numbers.getLong((pages - 1) * 8);
        return pages;
    }

    /** Backs the batch's data pages that were never written here, run by run, before copying into them. */
    private void backNewPages(ByteBuffer numbers, ByteBuffer kinds, int pages) {
        long runStart = -1;
        long runEnd = -1;
        for (int i = 0; i < pages; i++) {
            long page = numbers.getLong(i * 8);
            if (kinds.get(i) == PageKind.PAGE_KIND_ZERO_VALUE || written.get((int) page)) {
                continue;
            }
            if (page != runEnd) {
                if (runStart >= 0) {
                    vm.backPages(runStart, runEnd - runStart);
                }
                runStart = page;
            }
            runEnd = page + 1;
        }
        if (runStart >= 0) {
            vm.backPages(runStart, runEnd - runStart);
        }
    }

    /**
     * Reads a batch's payload in order. The payload may be views of several transport buffers (see
     * {@link ReceivedFrameMarshaller}); a page may straddle two of them.
     */
    private static final class Payload {
        private final List<ByteBuffer> pieces;
        private int next;
        private MemorySegment current = MemorySegment.NULL;
        private long offset;

        Payload(List<ByteBuffer> pieces) {
            this.pieces = pieces;
        }

        /** Copies the next {@code length} payload bytes to {@code target} at {@code targetOffset}. */
        void copyTo(MemorySegment target, long targetOffset, long length) {
            long end = targetOffset + length;
            while (targetOffset < end) {
                if (offset == current.byteSize()) {
                    current = MemorySegment.ofBuffer(pieces.get(next++));
                    offset = 0;
                }
                long chunk = Math.min(end - targetOffset, current.byteSize() - offset);
                MemorySegment.copy(current, offset, target, targetOffset, chunk);
                offset += chunk;
                targetOffset += chunk;
            }
        }
    }

    private GuestRam regionOf(long page) {
        for (int r = 0; r < ram.size(); r++) {
            GuestRam region = ram.get(r);
            if (region.contains(page)) {
                return region;
            }
        }
        throw new ProtocolViolation("page " + page + " lies in no RAM region");
    }
}
