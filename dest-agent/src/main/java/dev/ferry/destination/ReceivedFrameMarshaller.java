package dev.ferry.destination;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import dev.ferry.proto.v1.PageBatch;
import dev.ferry.proto.v1.SourceFrame;
import io.grpc.HasByteBuffer;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses SourceFrames without copying page data. gRPC hands over each message as a stream over the transport's
 * receive buffers; a page batch's {@code data} becomes a list of views of those buffers, so its pages are copied
 * exactly once, from the transport's buffers into guest RAM. (Protobuf's own parser, and its ByteString, copy
 * every byte field out of direct buffers.)
 *
 * <p>The views are valid only while the frame is being handled: gRPC releases the buffers when the handler's
 * {@code onNext} returns ({@code ServerCallImpl} closes each message stream after delivering it). The receiver
 * installs a batch within {@code onNext} and keeps no view beyond it. Marking the stream first keeps gRPC from
 * releasing buffers as they are read.
 *
 * <p>Frames other than page batches, and page batches with anything unusual on the wire (unknown or repeated
 * fields, unexpected wire types, malformed input), go through protobuf's parser, which also reports what is wrong.
 */
final class ReceivedFrameMarshaller implements MethodDescriptor.Marshaller<ReceivedFrame> {
    private static final int PAGE_BATCH_TAG = SourceFrame.PAGE_BATCH_FIELD_NUMBER << 3 | 2;

    private final MethodDescriptor.Marshaller<SourceFrame> standard = ProtoUtils.marshaller(SourceFrame.getDefaultInstance());

    /** A server serializes what it receives only for logging (gRPC's binary log); this copies the page data. */
    @Override
    public InputStream stream(ReceivedFrame value) {
        return standard.stream(value.whole());
    }

    @Override
    public ReceivedFrame parse(InputStream stream) {
        try {
            List<ByteBuffer> pieces = stream instanceof HasByteBuffer buffers && buffers.byteBufferSupported()
                    && stream.markSupported() ? views(stream, buffers) : List.of(ByteBuffer.wrap(stream.readAllBytes()));
            ReceivedFrame batch = PageBatchWire.parse(pieces);
            return batch != null ? batch : ReceivedFrame.of(SourceFrame.parseFrom(ReceivedFrame.concat(pieces)));
        } catch (InvalidProtocolBufferException e) {
            throw Status.INTERNAL.withDescription("malformed SourceFrame: " + e.getMessage()).withCause(e)
                    .asRuntimeException();
        } catch (IOException e) {
            throw Status.INTERNAL.withDescription("unreadable SourceFrame: " + e.getMessage()).withCause(e)
                    .asRuntimeException();
        }
    }

    /** The message as views of the transport's buffers, copying nothing. */
    private static List<ByteBuffer> views(InputStream stream, HasByteBuffer buffers) throws IOException {
        stream.mark(Integer.MAX_VALUE);
        List<ByteBuffer> pieces = new ArrayList<>();
        while (stream.available() > 0) {
            ByteBuffer piece = buffers.getByteBuffer();
            int length = piece == null ? 0 : piece.remaining();
            if (length == 0) {
                // Not expected of gRPC's buffers; read the rest by copying rather than loop on an empty view.
                pieces.add(ByteBuffer.wrap(stream.readAllBytes()));
                break;
            }
            pieces.add(piece);
            if (stream.skip(length) != length) {
                throw new IOException("the message stream skipped less than its buffer of " + length + " bytes");
            }
        }
        return pieces;
    }

    /**
     * The protobuf wire format of a SourceFrame holding only a PageBatch, read field by field over the pieces: the
     * small fields are copied, {@code data} is sliced. Returns null for anything else, malformed input included.
     */
    static final class PageBatchWire {
        private final List<ByteBuffer> pieces;
        private int index;
        private ByteBuffer current;
        private long remaining;

        private PageBatchWire(List<ByteBuffer> pieces) {
            this.pieces = pieces;
            this.remaining = ReceivedFrame.size(pieces);
            this.current = pieces.isEmpty() ? ByteBuffer.allocate(0) : pieces.getFirst().duplicate();
        }

        static ReceivedFrame parse(List<ByteBuffer> pieces) {
            PageBatchWire reader = new PageBatchWire(pieces);
            try {
                if (reader.remaining == 0 || reader.varint() != PAGE_BATCH_TAG || reader.varint() != reader.remaining) {
                    return null;
                }
                return reader.pageBatch();
            } catch (IndexOutOfBoundsException malformed) {
                return null;
            }
        }

        private ReceivedFrame pageBatch() {
            PageBatch.Builder batch = PageBatch.newBuilder();
            List<ByteBuffer> data = List.of();
            boolean[] seen = new boolean[PageBatch.CRC32C_FIELD_NUMBER + 1];
            while (remaining > 0) {
                long tag = varint();
                int field = (int) (tag >>> 3);
                int type = (int) (tag & 7);
                if (field < 1 || field >= seen.length || seen[field]) {
                    return null;
                }
                seen[field] = true;
                switch (field) {
                    case PageBatch.ROUND_FIELD_NUMBER, PageBatch.SEQUENCE_FIELD_NUMBER -> {
                        if (type != 0) {
                            return null;
                        }
                        long value = varint();
                        if (field == PageBatch.ROUND_FIELD_NUMBER) {
                            batch.setRound((int) value);
                        } else {
                            batch.setSequence(value);
                        }
                    }
                    case PageBatch.CRC32C_FIELD_NUMBER -> {
                        if (type != 5) {
                            return null;
                        }
                        int crc = 0;
                        for (int i = 0; i < 4; i++) {
                            crc |= (nextByte() & 0xff) << (8 * i);
                        }
                        batch.setCrc32C(crc);
                    }
                    default -> {
                        long size = type == 2 ? varint() : -1;
                        if (size < 0 || size > remaining) {
                            return null;
                        }
                        switch (field) {
                            case PageBatch.PAGE_NUMBERS_FIELD_NUMBER -> batch.setPageNumbers(copy((int) size));
                            case PageBatch.KINDS_FIELD_NUMBER -> batch.setKinds(copy((int) size));
                            case PageBatch.COMPRESSED_SIZES_FIELD_NUMBER -> batch.setCompressedSizes(copy((int) size));
                            default -> data = slice((int) size);
                        }
                    }
                }
            }
            return new ReceivedFrame(SourceFrame.newBuilder().setPageBatch(batch).build(), data);
        }

        private ByteBuffer currentWithBytes() {
            while (!current.hasRemaining()) {
                current = pieces.get(++index).duplicate();
            }
            return current;
        }

        private byte nextByte() {
            byte b = currentWithBytes().get();
            remaining--;
            return b;
        }

        /** A varint; one cut short or longer than 10 bytes throws IndexOutOfBoundsException. */
        private long varint() {
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                byte b = nextByte();
                value |= (long) (b & 0x7f) << shift;
                if (b >= 0) {
                    return value;
                }
            }
            throw new IndexOutOfBoundsException("varint longer than 10 bytes");
        }

        private ByteString copy(int size) {
            byte[] bytes = new byte[size];
            for (int offset = 0; offset < size; ) {
                ByteBuffer from = currentWithBytes();
                int length = Math.min(size - offset, from.remaining());
                from.get(bytes, offset, length);
                offset += length;
            }
            remaining -= size;
            return UnsafeByteOperations.unsafeWrap(bytes);
        }

        private List<ByteBuffer> slice(int size) {
            List<ByteBuffer> views = new ArrayList<>();
            for (int taken = 0; taken < size; ) {
                ByteBuffer from = currentWithBytes();
                int length = Math.min(size - taken, from.remaining());
                views.add(from.slice(from.position(), length));
                from.position(from.position() + length);
                taken += length;
            }
            remaining -= size;
            return views;
        }
    }
}
