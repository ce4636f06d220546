package dev.ferry.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HeartbeatGapMeterTest {
    @Test
    void theLargestGapBetweenHeartbeatsSpansTheSilence(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("serial");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread guest = Thread.ofPlatform().start(() -> {
                try (SocketChannel serial = server.accept()) {
                    serial.write(ByteBuffer.wrap("ferry-workload rate=0\n".getBytes()));
                    for (int i = 0; i < 5; i++) {
                        serial.write(ByteBuffer.wrap(new byte[]{'.'}));
                        Thread.sleep(i == 2 ? 120 : 2);
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            try (HeartbeatGapMeter meter = HeartbeatGapMeter.connect(socket, "test", Duration.ofSeconds(5))) {
                guest.join();
                await().atMost(Duration.ofSeconds(5)).until(() -> meter.count() == 5);
                long gap = meter.largestGapWithin(0, Long.MAX_VALUE);
                assertTrue(gap >= 120_000_000L, "gap " + gap + " ns spans the 120 ms silence");
                assertEquals(-1, meter.awaitFirstAfter(meter.last(), Duration.ofMillis(10)));
            }
        }
    }
}
