package dev.ferry.simulator;

import dev.ferry.vm.Heartbeats;

/**
 * The guest's heartbeats: one arrival time ({@link System#nanoTime()}) per 1 ms tick of vCPU 0, the latest
 * {@code capacity} of them kept. Written by one vCPU thread a thousand times a second, read by the engine
 * now and then, so a monitor is cheap enough and keeps the reads consistent.
 */
final class HeartbeatRing implements Heartbeats {
    private final long[] ring;
    private long count;

    HeartbeatRing(int capacity) {
        if (capacity < 2) {
            throw new IllegalArgumentException("heartbeat ring of " + capacity + " entries");
        }
        this.ring = new long[capacity];
    }

    synchronized void record(long nanos) {
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
        // Arrivals are monotonic: binary search for the first at or after nanos.
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
