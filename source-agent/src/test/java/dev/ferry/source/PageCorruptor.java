package dev.ferry.source;

import dev.ferry.destination.ReceivedFrame;
import dev.ferry.proto.v1.PageBatch;
import dev.ferry.proto.v1.SourceFrame;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.CRC32C;

/**
 * A fault on the wire: flips one payload byte of the first page batch at or after a sequence number that
 * carries data. With {@code fixChecksum} it also recomputes the batch's CRC32C, as a corruption before the
 * checksum was taken would look: only the verify digests can catch that one.
 */
final class PageCorruptor implements ServerInterceptor {
    private final long fromSequence;
    private final boolean fixChecksum;
    final AtomicBoolean struck = new AtomicBoolean();

    PageCorruptor(long fromSequence, boolean fixChecksum) {
        this.fromSequence = fromSequence;
        this.fixChecksum = fixChecksum;
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
            @Override
            @SuppressWarnings("unchecked")
            public void onMessage(Q message) {
                super.onMessage((Q) corrupt((ReceivedFrame) message));
            }
        };
    }

    private ReceivedFrame corrupt(ReceivedFrame received) {
        SourceFrame frame = received.frame();
        if (!frame.hasPageBatch() || struck.get()) {
            return received;
        }
        PageBatch batch = frame.getPageBatch();
        if (batch.getSequence() < fromSequence || received.pageDataSize() == 0) {
            return received;
        }
        byte[] data = received.whole().getPageBatch().getData().toByteArray();
        data[data.length / 2] ^= 0x5a;
        PageBatch.Builder bad = batch.toBuilder().clearData();
        if (fixChecksum) {
            CRC32C crc = new CRC32C();
            crc.update(batch.getPageNumbers().toByteArray());
            crc.update(batch.getKinds().toByteArray());
            crc.update(batch.getCompressedSizes().toByteArray());
            crc.update(data);
            bad.setCrc32C((int) crc.getValue());
        }
        struck.set(true);
        return new ReceivedFrame(frame.toBuilder().setPageBatch(bad).build(), List.of(ByteBuffer.wrap(data)));
    }
}
