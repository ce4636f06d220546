package dev.ferry.source;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

/**
 * A channel to a destination's control endpoint, set up for a migration stream: a 16 MiB HTTP/2
 * flow-control window (about twice the loopback throughput of the default) and room for multi-MiB frames.
 * Retries are off: a migration stream is never replayed.
 */
public final class SourceTransport {
    public static final int FLOW_CONTROL_WINDOW = 16 << 20;
    public static final int MAX_INBOUND_MESSAGE = 8 << 20;

    private SourceTransport() {
    }

    /** {@code target} is host:port. */
    public static ManagedChannel channelTo(String target) {
        return NettyChannelBuilder.forTarget(target)
                .usePlaintext()
                .flowControlWindow(FLOW_CONTROL_WINDOW)
                .maxInboundMessageSize(MAX_INBOUND_MESSAGE)
                .disableRetry()
                // The link's callbacks only queue frames and wake the engine: run them on the transport's threads.
                .directExecutor()
                .build();
    }
}
