package dev.ferry.destination;

import dev.ferry.proto.v1.MigrationGrpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;

import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.handler.codec.ByteToMessageDecoder;
import io.grpc.netty.shaded.io.netty.util.AsciiString;

import java.net.SocketAddress;
import java.util.concurrent.Executor;

/**
 * The server a migration stream needs: frames of up to a few MiB, an HTTP/2 flow-control window large enough to
 * keep a fast link full (16 MiB windows roughly double loopback throughput over the default), and received bytes
 * kept where the socket put them (see {@link #serverBuilder}).
 */
public final class ReceiverTransport {
    public static final int FLOW_CONTROL_WINDOW = 16 << 20;
    public static final int MAX_INBOUND_MESSAGE = 8 << 20;
    private static final int READ_BYTES = 1 << 20;

    private ReceiverTransport() {
    }

    /**
     * A plaintext server on {@code address}, set up by {@link #configure}. Its HTTP/2 decoder gathers a frame that
     * spans two socket reads by reference (Netty's composite cumulator) instead of copying every read into one
     * buffer, which on a migration stream is nearly every byte, once more: page data reaches guest RAM from the
     * buffers the socket was read into. The setting rides on gRPC's plaintext negotiator, the one hook gRPC gives
     * to its HTTP/2 handler.
     */
    public static NettyServerBuilder serverBuilder(SocketAddress address) {
        return configure(NettyServerBuilder.forAddress(address,
                InternalNettyServerCredentials.create(new CompositeCumulation(InternalProtocolNegotiators.serverPlaintext()))));
    }

    private record CompositeCumulation(InternalProtocolNegotiator.ProtocolNegotiator plaintext)
            implements InternalProtocolNegotiator.ProtocolNegotiator {
        @Override
        public AsciiString scheme() {
            return plaintext.scheme();
        }

        @Override
        public ChannelHandler newHandler(GrpcHttp2ConnectionHandler http2) {
            http2.setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
            return plaintext.newHandler(http2);
        }

        @Override
        public void close() {
            plaintext.close();
        }
    }

    /**
     * Also runs the migration stream's callbacks on the transport's own threads: each frame is handled where
     * it was read, without a hand-off to another thread (on this nested host, waking a thread costs up to
     * milliseconds, and the switchover crosses several). The receiver's handlers block only while the VM is
     * being built. Every other call keeps the default executor. And a socket read takes up to 1 MiB instead
     * of Netty's 64 KiB: a fraction of the reads, decoder passes and buffers per megabyte. A gRPC stream of
     * 1 MiB messages on loopback took about 1.2 CPU-seconds per GiB (sender and receiver) instead of 1.5.
     */
    static NettyServerBuilder configure(NettyServerBuilder builder) {
        return builder.flowControlWindow(FLOW_CONTROL_WINDOW).maxInboundMessageSize(MAX_INBOUND_MESSAGE)
                .withChildOption(ChannelOption.RCVBUF_ALLOCATOR,
                        new AdaptiveRecvByteBufAllocator(64 << 10, READ_BYTES / 4, READ_BYTES))
                .callExecutor(new ServerCallExecutorSupplier() {
                    @Override
                    public <Q, R> Executor getExecutor(ServerCall<Q, R> call, Metadata metadata) {
                        return call.getMethodDescriptor().getServiceName().equals(MigrationGrpc.SERVICE_NAME)
                                ? Runnable::run : null;
                    }
                });
    }
}
