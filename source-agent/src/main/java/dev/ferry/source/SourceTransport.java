package dev.ferry.source;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;

import java.net.InetSocketAddress;

/**
 * A channel to a destination's control endpoint, set up for a migration stream: a 16 MiB HTTP/2
 * flow-control window (about twice the loopback throughput of the default) and room for multi-MiB frames.
 * Retries are off: a migration stream is never replayed.
 *
 * <p>Connecting is part of every migration's setup, so the channel skips name resolution (the address is
 * resolved here) and runs on one event-loop thread that lives as long as the process: gRPC's shared group
 * would be torn down a second after the previous migration and built again for the next.
 */
public final class SourceTransport {
    public static final int FLOW_CONTROL_WINDOW = 16 << 20;
    public static final int MAX_INBOUND_MESSAGE = 8 << 20;

    private static final boolean EPOLL = Epoll.isAvailable();
    private static final EventLoopGroup LOOP = EPOLL
            ? new EpollEventLoopGroup(1, new DefaultThreadFactory("ferry-source-link", true))
            : new NioEventLoopGroup(1, new DefaultThreadFactory("ferry-source-link", true));

    private SourceTransport() {
    }

    public static ManagedChannel channelTo(String host, int port) {
        return NettyChannelBuilder.forAddress(new InetSocketAddress(host, port))
                .eventLoopGroup(LOOP)
                .channelType(EPOLL ? EpollSocketChannel.class : NioSocketChannel.class)
                .usePlaintext()
                .flowControlWindow(FLOW_CONTROL_WINDOW)
                .maxInboundMessageSize(MAX_INBOUND_MESSAGE)
                .disableRetry()
                // The link's callbacks only queue frames and wake the engine: run them on the transport's threads.
                .directExecutor()
                .build();
    }
}
