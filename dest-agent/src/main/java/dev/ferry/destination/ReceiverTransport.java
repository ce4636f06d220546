package dev.ferry.destination;

import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;

/**
 * Server settings a migration stream needs: frames of up to a few MiB, and an HTTP/2 flow-control window
 * large enough to keep a fast link full (16 MiB windows roughly double loopback throughput over the default).
 */
public final class ReceiverTransport {
    public static final int FLOW_CONTROL_WINDOW = 16 << 20;
    public static final int MAX_INBOUND_MESSAGE = 8 << 20;

    private ReceiverTransport() {
    }

    public static NettyServerBuilder configure(NettyServerBuilder builder) {
        return builder.flowControlWindow(FLOW_CONTROL_WINDOW).maxInboundMessageSize(MAX_INBOUND_MESSAGE);
    }
}
