package dev.ferry.simulator;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A slow link on loopback: a TCP proxy that forwards to {@code target}, limits each direction to
 * {@code bytesPerSecond} (shared by all connections, like one physical link) and delays every byte by
 * {@code oneWayLatency}. Point a gRPC channel (or anything on TCP) at {@link #address()} instead of the
 * target. Bytes are serialized at the link rate first and then propagate for the latency, so a window
 * of bandwidth x latency is in flight, as on a real path. {@link #cut()} drops every open connection, for
 * link-failure experiments.
 */
public final class LinkShaper implements AutoCloseable {
    /** {@code bytesPerSecond} of a link with no rate limit. */
    public static final long UNLIMITED = 0;
    private static final int MAX_CHUNK = 16 * 1024;
    /** Chunks in flight per direction; bounds memory when the rate is unlimited but the latency is not. */
    private static final int QUEUE_CHUNKS = 4096;
    private static final byte[] END = new byte[0];

    private final InetSocketAddress target;
    private final long latencyNanos;
    private final TokenBucket upstream;
    private final TokenBucket downstream;
    private final int chunk;
    private final ServerSocket server;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicLong bytesUp = new AtomicLong();
    private final AtomicLong bytesDown = new AtomicLong();
    private volatile boolean closed;

    private LinkShaper(InetSocketAddress target, long bytesPerSecond, Duration oneWayLatency) throws IOException {
        if (bytesPerSecond < 0 || oneWayLatency.isNegative()) {
            throw new IllegalArgumentException("link of " + bytesPerSecond + " B/s with latency " + oneWayLatency);
        }
        this.target = target;
        this.latencyNanos = oneWayLatency.toNanos();
        // Chunks of at most 1 ms of link time keep the pacing smooth at low rates.
        this.chunk = bytesPerSecond == UNLIMITED ? MAX_CHUNK : Math.clamp(bytesPerSecond / 1000, 1, MAX_CHUNK);
        long burst = Math.max(chunk, bytesPerSecond / 100);
        this.upstream = bytesPerSecond == UNLIMITED ? null : new TokenBucket(bytesPerSecond, burst);
        this.downstream = bytesPerSecond == UNLIMITED ? null : new TokenBucket(bytesPerSecond, burst);
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    }

    /**
     * Starts a shaper listening on an ephemeral loopback port.
     *
     * @param bytesPerSecond per direction, or {@link #UNLIMITED}
     * @param oneWayLatency  added to every byte in each direction (a round trip gains twice this)
     */
    public static LinkShaper start(InetSocketAddress target, long bytesPerSecond, Duration oneWayLatency) {
        try {
            LinkShaper shaper = new LinkShaper(target, bytesPerSecond, oneWayLatency);
            Thread.ofPlatform().daemon().name("link-shaper-accept-" + shaper.port()).start(shaper::accept);
            return shaper;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on loopback for a link shaper to " + target, e);
        }
    }

    /** Where clients connect instead of the target. */
    public InetSocketAddress address() {
        return new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Bytes delivered to the target so far. */
    public long bytesUp() {
        return bytesUp.get();
    }

    /** Bytes delivered back to clients so far. */
    public long bytesDown() {
        return bytesDown.get();
    }

    /** Drops every open connection at once (both ends see a reset or end of stream); new ones are still accepted. */
    public void cut() {
        for (Socket socket : sockets) {
            closeQuietly(socket);
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        cut();
    }

    private void accept() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            Socket upstreamSocket = new Socket();
            try {
                client.setTcpNoDelay(true);
                upstreamSocket.connect(target);
                upstreamSocket.setTcpNoDelay(true);
            } catch (IOException e) {
                closeQuietly(client);
                closeQuietly(upstreamSocket);
                continue;
            }
            sockets.add(client);
            sockets.add(upstreamSocket);
            forward(client, upstreamSocket, upstream, bytesUp, "up");
            forward(upstreamSocket, client, downstream, bytesDown, "down");
        }
    }

    /** One direction: a reader that serializes chunks at the link rate, a writer that delivers each after the latency. */
    private void forward(Socket from, Socket to, TokenBucket rate, AtomicLong delivered, String direction) {
        BlockingQueue<Chunk> inFlight = new ArrayBlockingQueue<>(QUEUE_CHUNKS);
        Thread.ofVirtual().name("link-shaper-" + direction + "-read").start(() -> {
            try {
                // Not closed when done: closing a socket's stream closes the socket, and the other direction may still run.
                InputStream in = from.getInputStream();
                byte[] buffer = new byte[chunk];
                int n;
                while ((n = in.read(buffer)) > 0) {
                    if (rate != null && !rate.take(n)) {
                        break;
                    }
                    inFlight.put(new Chunk(Arrays.copyOf(buffer, n), System.nanoTime() + latencyNanos));
                }
                inFlight.put(new Chunk(END, System.nanoTime() + latencyNanos));
            } catch (IOException | InterruptedException e) {
                abandon(from, to);
                inFlight.offer(new Chunk(null, 0));
            }
        });
        Thread.ofVirtual().name("link-shaper-" + direction + "-write").start(() -> {
            try {
                OutputStream out = to.getOutputStream();
                while (true) {
                    Chunk c = inFlight.take();
                    if (c.bytes == null) {
                        return;
                    }
                    long left;
                    while ((left = c.dueNanos - System.nanoTime()) > 0) {
                        LockSupport.parkNanos(left);
                    }
                    if (c.bytes == END) {
                        to.shutdownOutput();
                        finishIfDone(from, to);
                        return;
                    }
                    out.write(c.bytes);
                    out.flush();
                    delivered.addAndGet(c.bytes.length);
                }
            } catch (IOException | InterruptedException e) {
                abandon(from, to);
            }
        });
    }

    /** Both directions have ended: release the pair. */
    private void finishIfDone(Socket a, Socket b) {
        if (a.isOutputShutdown() && b.isOutputShutdown()) {
            abandon(a, b);
        }
    }

    private void abandon(Socket a, Socket b) {
        sockets.remove(a);
        sockets.remove(b);
        closeQuietly(a);
        closeQuietly(b);
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // Closing a socket that is already broken.
        }
    }

    private record Chunk(byte[] bytes, long dueNanos) {
    }
}
