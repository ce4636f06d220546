package dev.ferry.simulator;

import java.util.concurrent.locks.LockSupport;

/**
 * A byte-rate limit shared by every user of one link direction. {@link #take} reserves bytes at once and
 * then waits out any debt, so concurrent senders split the rate and the long-run rate is exact; the bucket
 * holds at most {@code burstBytes} of unused allowance.
 */
final class TokenBucket {
    private final long bytesPerSecond;
    private final long burstBytes;
    private double tokens;
    private long refilledAt = System.nanoTime();

    TokenBucket(long bytesPerSecond, long burstBytes) {
        if (bytesPerSecond <= 0 || burstBytes <= 0) {
            throw new IllegalArgumentException("token bucket of " + bytesPerSecond + " B/s, burst " + burstBytes);
        }
        this.bytesPerSecond = bytesPerSecond;
        this.burstBytes = burstBytes;
        this.tokens = burstBytes;
    }

    /** Blocks until {@code bytes} may pass; returns false if interrupted while waiting. */
    boolean take(long bytes) {
        long waitNanos;
        synchronized (this) {
            long now = System.nanoTime();
            tokens = Math.min(burstBytes, tokens + (now - refilledAt) * (bytesPerSecond / 1e9));
            refilledAt = now;
            tokens -= bytes;
            waitNanos = tokens >= 0 ? 0 : (long) (-tokens * 1e9 / bytesPerSecond);
        }
        long until = System.nanoTime() + waitNanos;
        long left;
        while ((left = until - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
            if (Thread.interrupted()) {
                return false;
            }
        }
        return true;
    }
}
