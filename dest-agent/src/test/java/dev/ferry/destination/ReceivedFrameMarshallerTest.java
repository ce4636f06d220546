package dev.ferry.destination;

import com.google.protobuf.ByteString;
import dev.ferry.proto.v1.Hello;
import dev.ferry.proto.v1.PageBatch;
import dev.ferry.proto.v1.SourceFrame;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReceivedFrameMarshallerTest {
    private final ReceivedFrameMarshaller marshaller = new ReceivedFrameMarshaller();

    private static SourceFrame batchFrame() {
        byte[] data = new byte[3 * 4096];
        new Random(7).nextBytes(data);
        return SourceFrame.newBuilder().setPageBatch(PageBatch.newBuilder()
                .setRound(300)
                .setSequence(1L << 40)
                .setPageNumbers(ByteString.copyFrom(new byte[24]))
                .setKinds(ByteString.copyFrom(new byte[] {1, 1, 1}))
                .setData(ByteString.copyFrom(data))
                .setCrc32C(0x80000001)).build();
    }

    /** The wire bytes as a transport hands them over: direct buffers, cut at awkward places. */
    private static List<ByteBuffer> scattered(byte[] wire, int pieceSize) {
        List<ByteBuffer> pieces = new ArrayList<>();
        for (int offset = 0; offset < wire.length; offset += pieceSize) {
            int length = Math.min(pieceSize, wire.length - offset);
            pieces.add(ByteBuffer.allocateDirect(length).put(wire, offset, length).flip());
        }
        return pieces;
    }

    @Test
    void aPageBatchFromScatteredBuffersMatchesProtobufsParseWithItsDataAsViews() {
        SourceFrame frame = batchFrame();
        List<ByteBuffer> wire = scattered(frame.toByteArray(), 1000);
        ReceivedFrame parsed = ReceivedFrameMarshaller.PageBatchWire.parse(wire);
        assertEquals(frame.getPageBatch().toBuilder().clearData().build(), parsed.frame().getPageBatch());
        assertEquals(frame, parsed.whole());
        assertEquals(frame.getPageBatch().getData().size(), parsed.pageDataSize());
        assertTrue(parsed.pageData().size() > 1 && parsed.pageData().stream().allMatch(ByteBuffer::isDirect),
                "the data are views of the transport's buffers, not a copy");
        assertTrue(wire.stream().allMatch(piece -> piece.position() == 0), "the transport's buffers are left as they were");
    }

    @Test
    void anythingButAPlainPageBatchIsLeftToProtobuf() {
        SourceFrame hello = SourceFrame.newBuilder().setHello(Hello.newBuilder().setSessionId("s")).build();
        assertNull(ReceivedFrameMarshaller.PageBatchWire.parse(List.of(hello.toByteString().asReadOnlyByteBuffer())));
        assertEquals(hello, marshaller.parse(new ByteArrayInputStream(hello.toByteArray())).frame());

        // An unknown field (number 15, varint) inside the batch: protobuf keeps it, the fast path steps aside.
        SourceFrame frame = batchFrame();
        ByteString batch = frame.getPageBatch().toByteString().concat(ByteString.copyFrom(new byte[] {15 << 3, 1}));
        byte[] wire = SourceFrame.newBuilder().setPageBatch(frame.getPageBatch()).build().toByteArray();
        byte[] withUnknown = concat(new byte[] {(byte) (SourceFrame.PAGE_BATCH_FIELD_NUMBER << 3 | 2)},
                varint(batch.size()), batch.toByteArray());
        assertNull(ReceivedFrameMarshaller.PageBatchWire.parse(List.of(ByteBuffer.wrap(withUnknown))));
        ReceivedFrame viaProtobuf = marshaller.parse(new ByteArrayInputStream(withUnknown));
        assertEquals(frame.getPageBatch().getSequence(), viaProtobuf.frame().getPageBatch().getSequence());
        assertEquals(frame.getPageBatch().getData(), viaProtobuf.frame().getPageBatch().getData());
        assertEquals(frame.getPageBatch().getData().size(), viaProtobuf.pageDataSize());
        assertEquals(frame, marshaller.parse(new ByteArrayInputStream(wire)).whole());
    }

    @Test
    void aTruncatedBatchIsRefusedAsMalformed() {
        byte[] wire = batchFrame().toByteArray();
        for (int cut : new int[] {1, 2, 5, wire.length / 2, wire.length - 1}) {
            byte[] truncated = Arrays.copyOf(wire, cut);
            assertNull(ReceivedFrameMarshaller.PageBatchWire.parse(scattered(truncated, 100)), "cut at " + cut);
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                    () -> marshaller.parse(new ByteArrayInputStream(truncated)), "cut at " + cut);
            assertTrue(refused.getStatus().getDescription().startsWith("malformed SourceFrame"), refused.getMessage());
        }
    }

    private static byte[] varint(long value) {
        byte[] out = new byte[10];
        int n = 0;
        while ((value & ~0x7fL) != 0) {
            out[n++] = (byte) ((value & 0x7f) | 0x80);
            value >>>= 7;
        }
        out[n++] = (byte) value;
        return Arrays.copyOf(out, n);
    }

    private static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        byte[] all = new byte[length];
        int offset = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, all, offset, part.length);
            offset += part.length;
        }
        return all;
    }
}
