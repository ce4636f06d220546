package dev.ferry.destination;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.ferry.proto.v1.SourceFrame;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * A SourceFrame as the receiver gets it. For a page batch, {@code pageData} holds the batch's {@code data}
 * field, often as views of the transport's receive buffers (see {@link ReceivedFrameMarshaller}); the frame's
 * own PageBatch then has an empty {@code data}. The views are valid only while the frame is being handled.
 * It is the request type of the Transfer method as {@link MigrationReceiver#bindService} binds it, so a server
 * interceptor of that service sees these.
 */
public record ReceivedFrame(SourceFrame frame, List<ByteBuffer> pageData) {
    /** A frame parsed by protobuf: a page batch's data is in the frame itself. */
    static ReceivedFrame of(SourceFrame frame) {
        return new ReceivedFrame(frame, frame.hasPageBatch()
                ? frame.getPageBatch().getData().asReadOnlyByteBufferList() : List.of());
    }

    /** Bytes of page data. */
    public long pageDataSize() {
        return size(pageData);
    }

    /** The frame with its page data in it again (a copy), as protobuf would have parsed it. */
    public SourceFrame whole() {
        if (!frame.hasPageBatch() || !frame.getPageBatch().getData().isEmpty() || pageData.isEmpty()) {
            return frame;
        }
        ByteString data = UnsafeByteOperations.unsafeWrap(concat(pageData));
        return frame.toBuilder().setPageBatch(frame.getPageBatch().toBuilder().setData(data)).build();
    }

    /** A copy of the bytes remaining in {@code pieces}, in order; their positions stay as they were. */
    static byte[] concat(List<ByteBuffer> pieces) {
        byte[] bytes = new byte[Math.toIntExact(size(pieces))];
        int offset = 0;
        for (ByteBuffer piece : pieces) {
            int length = piece.remaining();
            piece.duplicate().get(bytes, offset, length);
            offset += length;
        }
        return bytes;
    }

    /** Bytes remaining in {@code pieces}. */
    static long size(List<ByteBuffer> pieces) {
        long size = 0;
        for (ByteBuffer piece : pieces) {
            size += piece.remaining();
        }
        return size;
    }
}
