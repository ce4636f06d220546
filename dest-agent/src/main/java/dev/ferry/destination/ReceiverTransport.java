package dev.ferry.destination;

import dev.ferry.proto.v1.MigrationGrpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;

import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;

import java.util.concurrent.Executor;

/**
 * Server settings a migration stream needs: frames of up to a few MiB, and an HTTP/2 flow-control window
 * large enough to keep a fast link full (16 MiB windows roughly double loopback throughput over the default).
 */
public final class ReceiverTransport {
    public static final int FLOW_CONTROL_WINDOW = 16 << 20;
    public static final int MAX_INBOUND_MESSAGE = 8 << 20;

    private ReceiverTransport() {
    }

    /**
     * Also runs the migration stream's callbacks on the transport's own threads: each frame is handled where
     * it was read, without a hand-off to another thread (on this nested host, waking a thread costs up to
     * milliseconds, and the switchover crosses several). The receiver's handlers never block. Every other
     * call keeps the default executor.
     */
    public static NettyServerBuilder configure(NettyServerBuilder builder) {
        return builder.flowControlWindow(FLOW_CONTROL_WINDOW).maxInboundMessageSize(MAX_INBOUND_MESSAGE)
                .callExecutor(new ServerCallExecutorSupplier() {
                    @Override
                    public <Q, R> Executor getExecutor(ServerCall<Q, R> call, Metadata metadata) {
                        return call.getMethodDescriptor().getServiceName().equals(MigrationGrpc.SERVICE_NAME)
                                ? Runnable::run : null;
                    }
                });
    }
}
