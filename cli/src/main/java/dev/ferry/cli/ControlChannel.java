package dev.ferry.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.util.concurrent.TimeUnit;

/** A client channel to a VMM's control endpoint. */
final class ControlChannel implements AutoCloseable {
    static final int MAX_MESSAGE_BYTES = 16 << 20;

    private final HostPort address;
    private final ManagedChannel channel;

    ControlChannel(HostPort address) {
        this.address = address;
        this.channel = NettyChannelBuilder.forAddress(address.host(), address.port())
                .usePlaintext()
                .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .build();
    }

    ManagedChannel channel() {
        return channel;
    }

    /** Turns a gRPC failure into a one-line message that names the endpoint. */
    CliException failure(String action, StatusRuntimeException e) {
        String description = e.getStatus().getDescription();
        String why = switch (e.getStatus().getCode()) {
            case UNAVAILABLE -> "no VMM reachable at " + address + (description == null ? "" : " (" + description + ")");
            case DEADLINE_EXCEEDED -> "the VMM at " + address + " did not answer in time";
            default -> description == null ? e.getStatus().getCode().toString() : description;
        };
        return new CliException(action + " failed: " + why, e);
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
