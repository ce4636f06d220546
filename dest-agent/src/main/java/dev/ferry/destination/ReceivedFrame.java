package dev.ferry.destination;

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
        long size = 0;
        for (ByteBuffer piece : pageData) {
            size += piece.remaining();
        }
        return size;
    }
}
