package dev.ferry.source;

/**
 * Bytes per second the link takes when nothing holds the sender back: each sample is bytes over the time
 * spent producing and sending them, without the time a bandwidth cap made the sender wait (no cap applies
 * once the guest is paused). Samples are smoothed with an exponentially weighted moving average, twice: as
 * the live rounds saw them, and scaled by the {@link PausedSpeedup} each round measured, for the final phase.
 *
 * <p>The final phase gets that speedup only past its first flow-control window: until then it is bound by how
 * fast the pipeline gets going on both sides, which a paused guest does not change. Measured on a 2-core host
 * with a busy guest: final rounds under the 16 MiB window moved at 0.6–1.3× the live rounds' rate, 100 MiB
 * ones at 1.3–2.9×.
 */
final class BandwidthEstimate {
    private static final double WEIGHT = 0.5;
    // Once an estimate exists, samples from a handful of pages (per-frame overhead, not the link) are ignored.
    private static final long MIN_SAMPLE_BYTES = 4L << 20;

    private final long windowBytes;
    private double sampled;
    private double sampledPaused;
    private double burstBytesPerSecond;

    /** @param windowBytes the link's flow-control window */
    BandwidthEstimate(long windowBytes) {
        this.windowBytes = windowBytes;
    }

    /** A live round's bytes over its uncapped time; {@code pausedSpeedup} says how much faster a paused one runs. */
    void sample(long bytes, long uncappedNanos, double pausedSpeedup) {
        if (uncappedNanos <= 0 || bytes == 0 || (known() && bytes < MIN_SAMPLE_BYTES)) {
            return;
        }
        double sample = bytes / (uncappedNanos / 1e9);
        sampled = smooth(sampled, sample);
        sampledPaused = smooth(sampledPaused, sample * Math.max(1, pausedSpeedup));
    }

    private static double smooth(double average, double sample) {
        return average == 0 ? sample : WEIGHT * sample + (1 - WEIGHT) * average;
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

    /** What the live rounds get. */
    double bytesPerSecond() {
        return bounded(sampled);
    }

    /** What the final phase gets, with the guest paused. */
    double pausedBytesPerSecond() {
        return bounded(sampledPaused);
    }

    private double bounded(double samples) {
        if (burstBytesPerSecond == 0) {
            return samples;
        }
        return samples == 0 ? burstBytesPerSecond : Math.min(samples, burstBytesPerSecond);
    }

    /** Milliseconds the paused final phase takes to send {@code bytes}, or +infinity while unknown. */
    double pausedMillisFor(double bytes) {
        if (!known()) {
            return Double.POSITIVE_INFINITY;
        }
        double first = Math.min(bytes, windowBytes);
        return (first / bytesPerSecond() + (bytes - first) / pausedBytesPerSecond()) * 1e3;
    }
}
