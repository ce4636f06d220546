package dev.ferry.vmm.devices;

import dev.ferry.vm.Heartbeats;

/**
 * Arrival times of the guest's heartbeats (every byte it sends on the UART) in a bounded ring: the last
 * {@code capacity} arrivals, on {@link System#nanoTime()}.
 */
public final class HeartbeatLog implements Heartbeats {
    public static final int DEFAULT_CAPACITY = 1 << 20;

    private final long[] ring;
    private long count;

    public HeartbeatLog() {
        this(DEFAULT_CAPACITY);
    }

    public HeartbeatLog(int capacity) {
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
        // Arrivals are in time order: binary search for the first at or after nanos.
        while (lo < hi) {
            long mid = (lo + hi) >>> 1;
            if (at(mid) < nanos) {
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
        long previous = Long.MIN_VALUE;
        for (long i = oldest(); i < count; i++) {
            long t = at(i);
            if (t < fromNanos) {
                continue;
            }
            if (t > toNanos) {
                break;
            }
            if (previous != Long.MIN_VALUE) {
                largest = Math.max(largest, t - previous);
            }
            previous = t;
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
