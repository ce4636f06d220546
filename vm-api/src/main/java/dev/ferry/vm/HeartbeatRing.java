package dev.ferry.vm;

/**
 * Arrival times of a guest's heartbeats ({@link System#nanoTime()}), the latest {@code capacity} of them, for the
 * blackout a guest observes across a switchover. Written by one vCPU thread up to a thousand times a second and
 * read by the engine now and then, so a monitor is cheap enough and keeps the reads consistent.
 */
public final class HeartbeatRing implements Heartbeats {
    private final long[] ring;
    private long count;

    public HeartbeatRing(int capacity) {
        if (capacity < 2) {
            throw new IllegalArgumentException("a heartbeat ring needs room for two, not " + capacity);
        }
        this.ring = new long[capacity];
    }

    public synchronized void record(long nanos) {
        ring[(int) (count % ring.length)] = nanos;
        count++;
    }

    @Override
    public synchronized long count() {
        return count;
    }

    @Override
    public synchronized long lastNanos() {
        return count == 0 ? -1 : at(count - 1);
    }

    @Override
    public synchronized long firstNanosAfter(long nanos) {
        long lo = oldest();
        long hi = count;
        // Arrivals are in time order: binary search for the first at or after nanos (nanoTime may wrap).
        while (lo < hi) {
            long mid = (lo + hi) >>> 1;
            if (at(mid) - nanos < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo < count ? at(lo) : -1;
    }

    @Override
    public synchronized long largestGapNanos(long fromNanos, long toNanos) {
        long largest = -1;
        long previous = 0;
        boolean havePrevious = false;
        for (long i = oldest(); i < count; i++) {
            long t = at(i);
            if (t - fromNanos < 0) {
                continue;
            }
            if (t - toNanos > 0) {
                break;
            }
            if (havePrevious) {
                largest = Math.max(largest, t - previous);
            }
            previous = t;
            havePrevious = true;
        }
        return largest;
    }

    private long oldest() {
        return Math.max(0, count - ring.length);
    }

    private long at(long index) {
        return ring[(int) (index % ring.length)];
    }
}
