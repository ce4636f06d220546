package dev.ferry.bench;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * Timestamps the workload guest's heartbeats (one {@code .} per millisecond on COM1) as they arrive on a VMM's
 * serial unix socket; other bytes (the guest's start-up line) are not heartbeats. The guest's blackout across a
 * migration is the time between the source guest's last heartbeat and the destination guest's first: two meters,
 * one per VMM, on one clock.
 */
final class HeartbeatGapMeter implements AutoCloseable {
    static final byte HEARTBEAT = '.';

    private final SocketChannel channel;
    private final Thread reader;
    private long[] arrivals = new long[1 << 14];
    private int count;

    private HeartbeatGapMeter(SocketChannel channel, String name) {
        this.channel = channel;
        this.reader = Thread.ofPlatform().daemon().name("heartbeats-" + name).start(this::read);
    }

    /** Connects to a serial socket the VMM serves, waiting up to {@code timeout} for it to appear. */
    static HeartbeatGapMeter connect(Path socket, String name, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (Files.exists(socket)) {
                SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    channel.connect(UnixDomainSocketAddress.of(socket));
                    return new HeartbeatGapMeter(channel, name);
                } catch (IOException notYet) {
                    channel.close();
                    if (System.nanoTime() > deadline) {
                        throw new IOException("cannot connect to the serial socket " + socket + ": " + notYet.getMessage(), notYet);
                    }
                }
            } else if (System.nanoTime() > deadline) {
                throw new IOException("no serial socket " + socket + " after " + timeout.toMillis() + " ms");
            }
            Thread.sleep(20);
        }
    }

    /**
     * Connects from a background thread, for a socket that may appear only later (a destination VMM may create its
     * serial port only when the VM arrives). {@link #get()} is the meter once connected, else null.
     */
    static final class Pending implements AutoCloseable {
        private final Thread connector;
        private volatile HeartbeatGapMeter meter;
        private volatile boolean closed;

        Pending(Path socket, String name, Duration timeout) {
            connector = Thread.ofPlatform().daemon().name("connect-" + name).start(() -> {
                try {
                    HeartbeatGapMeter connected = connect(socket, name, timeout);
                    meter = connected;
                    if (closed) {
                        connected.close();
                    }
                } catch (IOException | InterruptedException gaveUp) {
                    // no meter: the figure is then not measured
                }
            });
        }

        HeartbeatGapMeter get() {
            return meter;
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            connector.interrupt();
            connector.join(3000);
            HeartbeatGapMeter m = meter;
            if (m != null) {
                m.close();
            }
        }
    }

    private void read() {
        ByteBuffer buffer = ByteBuffer.allocate(4096);
        try {
            while (true) {
                buffer.clear();
                int n = channel.read(buffer);
                if (n < 0) {
                    return;
                }
                long now = System.nanoTime();
                int beats = 0;
                for (int i = 0; i < n; i++) {
                    if (buffer.get(i) == HEARTBEAT) {
                        beats++;
                    }
                }
                if (beats > 0) {
                    record(now, beats);
                }
            }
        } catch (IOException closed) {
            // the VMM ended or we closed the socket
        }
    }

    private synchronized void record(long nanos, int beats) {
        if (count + beats > arrivals.length) {
            arrivals = Arrays.copyOf(arrivals, Math.max(arrivals.length * 2, count + beats));
        }
        Arrays.fill(arrivals, count, count + beats, nanos);
        count += beats;
        notifyAll();
    }

    synchronized int count() {
        return count;
    }

    /** Heartbeats that arrived after {@code nanos}. */
    synchronized int countAfter(long nanos) {
        int after = 0;
        for (int i = count - 1; i >= 0 && arrivals[i] > nanos; i--) {
            after++;
        }
        return after;
    }

    /** Arrival time of the last heartbeat at or before {@code nanos}, or -1. */
    synchronized long lastAtOrBefore(long nanos) {
        for (int i = count - 1; i >= 0; i--) {
            if (arrivals[i] <= nanos) {
                return arrivals[i];
            }
        }
        return -1;
    }

    /** Arrival time of the last heartbeat so far, or -1. */
    synchronized long last() {
        return count == 0 ? -1 : arrivals[count - 1];
    }

    /** Waits up to {@code timeout} for a heartbeat after {@code nanos}; its arrival time, or -1. */
    synchronized long awaitFirstAfter(long nanos, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (int i = 0; i < count; i++) {
                if (arrivals[i] > nanos) {
                    return arrivals[i];
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return -1;
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }

    /** The largest gap between consecutive heartbeats arriving within [from, to], in nanoseconds; -1 if fewer than two. */
    synchronized long largestGapWithin(long from, long to) {
        long previous = -1;
        long largest = -1;
        for (int i = 0; i < count; i++) {
            long t = arrivals[i];
            if (t < from || t > to) {
                continue;
            }
            if (previous >= 0) {
                largest = Math.max(largest, t - previous);
            }
            previous = t;
        }
        return largest;
    }

    @Override
    public void close() throws InterruptedException {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing is all we wanted
        }
        reader.join(2000);
    }
}
