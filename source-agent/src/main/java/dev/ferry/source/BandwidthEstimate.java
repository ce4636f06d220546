package dev.ferry.source;

/**
 * Bytes per second the link takes when nothing holds the sender back: each sample is bytes over the time
 * spent producing and sending them, without the time a bandwidth cap made the sender wait (no cap applies
 * once the guest is paused). Samples are smoothed with an exponentially weighted moving average.
 */
final class BandwidthEstimate {
    private static final double WEIGHT = 0.5;
    // Once an estimate exists, samples from a handful of pages (per-frame overhead, not the link) are ignored.
    private static final long MIN_SAMPLE_BYTES = 4L << 20;

    private double bytesPerSecond;

    void sample(long bytes, long uncappedNanos) {
        if (uncappedNanos <= 0 || bytes == 0 || (known() && bytes < MIN_SAMPLE_BYTES)) {
            return;
        }
        double sample = bytes / (uncappedNanos / 1e9);
        bytesPerSecond = bytesPerSecond == 0 ? sample : WEIGHT * sample + (1 - WEIGHT) * bytesPerSecond;
    }

    boolean known() {
        return bytesPerSecond > 0;
    }

    double bytesPerSecond() {
        return bytesPerSecond;
    }

    /** Milliseconds to send {@code bytes}, or +infinity while unknown. */
    double millisFor(double bytes) {
        return known() ? bytes / bytesPerSecond * 1e3 : Double.POSITIVE_INFINITY;
    }
}
