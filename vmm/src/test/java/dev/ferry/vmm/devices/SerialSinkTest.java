package dev.ferry.vmm.devices;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class SerialSinkTest {
    @Test
    void aFileSinkAppendsTheBytes(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("console.log");
        try (SerialSink sink = SerialSink.file(file)) {
            for (byte b : "boot ok\n".getBytes(StandardCharsets.US_ASCII)) {
                sink.write(b);
            }
        }
        assertEquals("boot ok\n", Files.readString(file));
    }

    @Test
    void aUnixSocketSinkServesTheConsoleToAConnectedClient(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("serial.sock");
        SerialSink sink = SerialSink.unixSocket(socket);
        try (SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            sink.write('x'); // nobody connected yet: dropped
            client.connect(UnixDomainSocketAddress.of(socket));
            StringBuilder received = new StringBuilder();
            ByteBuffer buffer = ByteBuffer.allocate(64);
            await().atMost(Duration.ofSeconds(5)).until(() -> {
                sink.write('h');
                sink.write('i');
                buffer.clear();
                client.configureBlocking(false);
                int n = client.read(buffer);
                for (int i = 0; i < n; i++) {
                    received.append((char) buffer.get(i));
                }
                return received.toString().contains("hi");
            });
            assertFalse(received.toString().contains("x"));
        } finally {
            sink.close();
        }
        assertFalse(Files.exists(socket), "the socket file is removed on close");
    }
}
