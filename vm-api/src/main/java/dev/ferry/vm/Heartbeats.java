package dev.ferry.vm;

/**
 * When the guest's heartbeats arrived, on the host's monotonic clock ({@link System#nanoTime()}, which is
 * CLOCK_MONOTONIC and so comparable between processes on one host).
 */
public interface Heartbeats {
    /** For guests that send none. */
    Heartbeats NONE = new Heartbeats() {
        @Override
        public long count() {
            return 0;
        }

        @Override
        public long lastNanos() {
            return -1;
        }

        @Override
        public long firstNanosAfter(long nanos) {
            return -1;
        }

        @Override
        public long largestGapNanos(long fromNanos, long toNanos) {
            return -1;
        }
    };

    long count();

    /** Arrival of the latest heartbeat, or -1 if none came. */
    long lastNanos();

    /** Arrival of the first heartbeat at or after {@code nanos}, or -1 if none came yet. */
    long firstNanosAfter(long nanos);

    /** The largest gap between consecutive heartbeats arriving within [from, to], or -1 if fewer than two. */
    long largestGapNanos(long fromNanos, long toNanos);
}
