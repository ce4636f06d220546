package dev.ferry.source;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.ferry.proto.v1.PageBatch;
import dev.ferry.proto.v1.PageKind;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.MigratableVm;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Fills one page batch at a time from guest RAM. Zero pages become a kind byte; other pages are copied
 * once from off-heap RAM into the batch's payload array (a copy the guest cannot change under the checksum),
 * which is then checksummed and handed to protobuf without another copy. The array is reused for the next
 * batch: the caller must have sent (serialized) a batch before it adds the next page. gRPC serializes a
 * message into its own buffers inside {@code onNext}, so a sent batch holds no reference anyone reads.
 */
final class PageBatchEncoder {
    static final int MAX_PAGES = 256;
    private static final int PAGE = MigratableVm.PAGE_SIZE;
    // Compression must save at least a quarter of a page to be worth the destination's decompression.
    private static final int LZ4_WORTH_IT = PAGE * 3 / 4;
    private static final MemorySegment ZERO_PAGE = Arena.global().allocate(PAGE, 64);

    private final List<GuestRam> ram;
    private final LZ4Compressor lz4;
    private final byte[] compressed;

    private final byte[] data = new byte[MAX_PAGES * PAGE];
    private final MemorySegment dataSegment = MemorySegment.ofArray(data);
    private int dataLength;
    private final byte[] numbers = new byte[MAX_PAGES * 8];
    private final byte[] kinds = new byte[MAX_PAGES];
    private final byte[] sizes = new byte[MAX_PAGES * 4];
    private int pages;
    private int lz4Pages;
    private int regionIndex;

    private long zeroPages;
    private long rawPages;
    private long compressedPages;

    PageBatchEncoder(List<GuestRam> ram, boolean compress) {
        this.ram = ram;
        this.lz4 = compress ? LZ4Factory.fastestInstance().fastCompressor() : null;
        this.compressed = compress ? new byte[lz4.maxCompressedLength(PAGE)] : null;
        newPayload();
    }

    private void newPayload() {
        dataLength = 0;
        pages = 0;
        lz4Pages = 0;
    }

    /** Adds a page; returns true when the batch is full and must be taken with {@link #take}. */
    boolean add(long page) {
        // The region's memory and an offset rather than a slice per page: this runs for every page migrated,
        // and the VMMs run C1, which allocates whatever a method creates.
        GuestRam region = regionOf(page);
        MemorySegment memory = region.memory();
        long at = (page - region.firstPage()) * PAGE;
        putLong(numbers, pages * 8, page);
        if (MemorySegment.mismatch(memory, at, at + PAGE, ZERO_PAGE, 0, PAGE) == -1) {
            kinds[pages] = (byte) PageKind.PAGE_KIND_ZERO_VALUE;
            zeroPages++;
        } else {
            MemorySegment.copy(memory, at, dataSegment, dataLength, PAGE);
            int size = lz4 == null ? PAGE : lz4.compress(data, dataLength, PAGE, compressed, 0, compressed.length);
            if (size <= LZ4_WORTH_IT) {
                System.arraycopy(compressed, 0, data, dataLength, size);
                putInt(sizes, lz4Pages++ * 4, size);
                kinds[pages] = (byte) PageKind.PAGE_KIND_LZ4_VALUE;
                dataLength += size;
                compressedPages++;
            } else {
                kinds[pages] = (byte) PageKind.PAGE_KIND_RAW_VALUE;
                dataLength += PAGE;
                rawPages++;
            }
        }
        return ++pages == MAX_PAGES;
    }

    boolean isEmpty() {
        return pages == 0;
    }

    int pages() {
        return pages;
    }

    /** The batch so far, ready to send; the encoder starts a new one. */
    PageBatch take(int round, long sequence) {
        CRC32C crc = new CRC32C();
        crc.update(numbers, 0, pages * 8);
        crc.update(kinds, 0, pages);
        crc.update(sizes, 0, lz4Pages * 4);
        ByteString payload = dataLength == 0 ? ByteString.EMPTY : UnsafeByteOperations.unsafeWrap(data, 0, dataLength);
        crc.update(data, 0, dataLength);
        PageBatch batch = PageBatch.newBuilder()
                .setRound(round)
                .setSequence(sequence)
                .setPageNumbers(ByteString.copyFrom(numbers, 0, pages * 8))
                .setKinds(ByteString.copyFrom(kinds, 0, pages))
                .setCompressedSizes(ByteString.copyFrom(sizes, 0, lz4Pages * 4))
                .setData(payload)
                .setCrc32C((int) crc.getValue())
                .build();
        newPayload();
        return batch;
    }

    long zeroPages() {
        return zeroPages;
    }

    long rawPages() {
        return rawPages;
    }

    long compressedPages() {
        return compressedPages;
    }

    private GuestRam regionOf(long page) {
        GuestRam region = ram.get(regionIndex);
        if (!region.contains(page)) {
            regionIndex = 0;
            while (!ram.get(regionIndex).contains(page)) {
                regionIndex++;
            }
            region = ram.get(regionIndex);
        }
        return region;
    }

    private static void putLong(byte[] target, int offset, long value) {
        for (int i = 0; i < 8; i++) {
            target[offset + i] = (byte) (value >>> (8 * i));
        }
    }

    private static void putInt(byte[] target, int offset, int value) {
        for (int i = 0; i < 4; i++) {
            target[offset + i] = (byte) (value >>> (8 * i));
        }
    }
}
