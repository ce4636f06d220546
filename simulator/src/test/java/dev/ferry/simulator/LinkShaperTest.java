package dev.ferry.simulator;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LinkShaperTest {
    private final ServerSocket echo = startEcho();

    @AfterEach
    void closeEcho() throws IOException {
        echo.close();
    }

    @Test
    void carriesBytesIntactBothWaysAndPassesEndOfStream() throws Exception {
        byte[] sent = new byte[1 << 20];
        new Random(7).nextBytes(sent);
        try (LinkShaper link = LinkShaper.start(echoAddress(), LinkShaper.UNLIMITED, Duration.ZERO);
             Socket socket = new Socket()) {
            socket.connect(link.address());
            CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> readAll(socket));
            OutputStream out = socket.getOutputStream();
            out.write(sent);
            socket.shutdownOutput();
            // The echo server closes only after seeing our end of stream, which ends what we read.
            assertArrayEquals(sent, received.get(10, TimeUnit.SECONDS));
            assertEquals(sent.length, link.bytesUp());
            assertEquals(sent.length, link.bytesDown());
        }
    }

    @Test
    void limitsTheRate() throws Exception {
        long rate = 1 << 20;
        byte[] sent = new byte[512 << 10];
        try (LinkShaper link = LinkShaper.start(echoAddress(), rate, Duration.ZERO); Socket socket = new Socket()) {
            socket.connect(link.address());
            CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> readAll(socket));
            long start = System.nanoTime();
            socket.getOutputStream().write(sent);
            socket.shutdownOutput();
            assertEquals(sent.length, received.get(10, TimeUnit.SECONDS).length);
            double seconds = (System.nanoTime() - start) / 1e9;
            // Up and down are limited separately and overlap: the transfer takes about bytes / rate.
            double floor = (sent.length - rate / 100.0) / rate;
            assertTrue(seconds >= floor * 0.95, sent.length + " bytes at " + rate + " B/s took only " + seconds + " s");
            assertTrue(seconds < floor * 4, sent.length + " bytes at " + rate + " B/s took " + seconds + " s");
        }
    }

    @Test
    void delaysEachDirection() throws Exception {
        try (LinkShaper link = LinkShaper.start(echoAddress(), LinkShaper.UNLIMITED, Duration.ofMillis(40));
             Socket socket = new Socket()) {
            socket.connect(link.address());
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            for (int i = 0; i < 3; i++) {
                long start = System.nanoTime();
                out.write(i + 1);
                assertEquals(i + 1, in.read());
                long rttMillis = (System.nanoTime() - start) / 1_000_000;
                assertTrue(rttMillis >= 80 && rttMillis < 1000, "round trip of " + rttMillis + " ms over 2 x 40 ms");
            }
        }
    }

    @Test
    void cutDropsOpenConnections() throws Exception {
        try (LinkShaper link = LinkShaper.start(echoAddress(), LinkShaper.UNLIMITED, Duration.ZERO);
             Socket socket = new Socket()) {
            socket.connect(link.address());
            socket.getOutputStream().write(9);
            assertEquals(9, socket.getInputStream().read());
            CompletableFuture<Integer> next = CompletableFuture.supplyAsync(() -> {
                try {
                    return socket.getInputStream().read();
                } catch (IOException e) {
                    return -2;
                }
            });
            link.cut();
            assertTrue(next.get(5, TimeUnit.SECONDS) < 0, "the connection survived the cut");
            try (Socket again = new Socket()) {
                again.connect(link.address());
                again.getOutputStream().write(5);
                assertEquals(5, again.getInputStream().read(), "a new connection after the cut works");
            }
        }
    }

    private InetSocketAddress echoAddress() {
        return new InetSocketAddress(echo.getInetAddress(), echo.getLocalPort());
    }

    private static ServerSocket startEcho() {
        try {
            ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                while (true) {
                    Socket s;
                    try {
                        s = server.accept();
                    } catch (IOException e) {
                        return;
                    }
                    Thread.ofVirtual().start(() -> {
                        try (s) {
                            s.getInputStream().transferTo(s.getOutputStream());
                        } catch (IOException ignored) {
                            // The client went away.
                        }
                    });
                }
            });
            return server;
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static byte[] readAll(Socket socket) {
        try {
            return socket.getInputStream().readAllBytes();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }
}
