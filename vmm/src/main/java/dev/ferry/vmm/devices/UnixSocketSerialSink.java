package dev.ferry.vmm.devices;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Serves the console on a unix socket: one client at a time (a new one replaces the old); bytes written while
 * no client is connected, or that a slow client cannot take at once, are dropped, as on a serial line with
 * nothing listening. Output only: the guest's receive side is fed through {@link Uart16550#receive}.
 */
final class UnixSocketSerialSink implements SerialSink {
    private final Path path;
    private final ServerSocketChannel server;
    private final Thread acceptor;
    private final ByteBuffer one = ByteBuffer.allocate(1);
    private volatile SocketChannel client;

    private UnixSocketSerialSink(Path path, ServerSocketChannel server) {
        this.path = path;
        this.server = server;
        this.acceptor = Thread.ofPlatform().daemon().name("serial-socket " + path).start(this::acceptLoop);
    }

    static UnixSocketSerialSink listen(Path path) {
        try {
            Files.deleteIfExists(path);
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(path));
            return new UnixSocketSerialSink(path, server);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen for the serial console on " + path, e);
        }
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel accepted = server.accept();
                // A console client that stops reading must not stall the vCPU: bytes it cannot take are dropped.
                accepted.configureBlocking(false);
                SocketChannel previous = client;
                client = accepted;
                if (previous != null) {
                    previous.close();
                }
            } catch (IOException e) {
                return;
            }
        }
    }

    @Override
    public synchronized void write(int b) {
        SocketChannel c = client;
        if (c == null) {
            return;
        }
        one.clear();
        one.put((byte) b).flip();
        try {
            c.write(one);
        } catch (IOException e) {
            client = null;
        }
    }

    @Override
    public void close() {
        try {
            server.close();
            SocketChannel c = client;
            if (c != null) {
                c.close();
            }
            Files.deleteIfExists(path);
        } catch (IOException e) {
            throw new UncheckedIOException("closing the serial socket " + path, e);
        }
    }
}
