package dev.ferry.source;

/**
 * The --bandwidth cap: at most {@code rate} bytes per second, with bursts of at most one batch (1 MiB, or
 * the whole rate if smaller), so idle time (setup, waiting for the destination) buys no large burst.
 */
final class TokenBucket {
    private final long rate;
    private final double burst;
    private double tokens;
    private long last = System.nanoTime();

    TokenBucket(long bytesPerSecond) {
        this.rate = bytesPerSecond;
        this.burst = Math.min(bytesPerSecond, 1 << 20);
        this.tokens = burst;
    }

    /** Waits until {@code bytes} may go; returns the nanoseconds spent waiting. */
    long take(long bytes) throws InterruptedException {
        long now = System.nanoTime();
        tokens = Math.min(burst, tokens + (now - last) * (rate / 1e9));
        last = now;
        tokens -= bytes;
        if (tokens >= 0) {
            return 0;
        }
        long waitNanos = (long) (-tokens / rate * 1e9);
        Thread.sleep(waitNanos / 1_000_000, (int) (waitNanos % 1_000_000));
        return System.nanoTime() - now;
    }
}
