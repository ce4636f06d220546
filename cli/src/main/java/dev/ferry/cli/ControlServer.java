package dev.ferry.cli;

import dev.ferry.destination.ReceiverTransport;
import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A VMM process's gRPC control endpoint: VM control, migration control and, on a destination, the
 * migration stream, all on one address.
 */
final class ControlServer implements AutoCloseable {
    private final Server server;

    private ControlServer(Server server) {
        this.server = server;
    }

    static ControlServer start(HostPort address, List<BindableService> services) {
        // The migration stream's window and message limits apply to the whole endpoint.
        NettyServerBuilder builder = ReceiverTransport.serverBuilder(
                new InetSocketAddress(address.host(), address.port()));
        services.forEach(builder::addService);
        try {
            return new ControlServer(builder.build().start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + address + ": " + e.getMessage(), e);
        }
    }

    int port() {
        return server.getPort();
    }

    void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() {
        server.shutdown();
        try {
            if (!server.awaitTermination(2, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.shutdownNow();
        }
    }
}
