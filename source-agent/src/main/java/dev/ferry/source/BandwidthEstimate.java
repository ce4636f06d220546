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

    private double sampled;
    private double burstBytesPerSecond;

    void sample(long bytes, long uncappedNanos) {
        if (uncappedNanos <= 0 || bytes == 0 || (known() && bytes < MIN_SAMPLE_BYTES)) {
            return;
        }
        double sample = bytes / (uncappedNanos / 1e9);
        sampled = sampled == 0 ? sample : WEIGHT * sample + (1 - WEIGHT) * sampled;
    }

    /**
     * An uncapped burst timed end to end, until the destination confirmed it installed every byte. It bounds
     * the samples: under a cap the link never holds the sender back, so those rounds time only its own work.
     */
    void burst(long bytes, long nanos) {
        if (bytes > 0 && nanos > 0) {
            burstBytesPerSecond = bytes / (nanos / 1e9);
        }
    }

    boolean known() {
        return bytesPerSecond() > 0;
    }

    double bytesPerSecond() {
        if (burstBytesPerSecond == 0) {
            return sampled;
        }
        return sampled == 0 ? burstBytesPerSecond : Math.min(sampled, burstBytesPerSecond);
    }

    /** Milliseconds to send {@code bytes}, or +infinity while unknown. */
    double millisFor(double bytes) {
        return known() ? bytes / bytesPerSecond() * 1e3 : Double.POSITIVE_INFINITY;
    }
}
