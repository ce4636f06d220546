package dev.ferry.vm;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class HeartbeatRingTest {
    @Test
    void answersFromTheRetainedHeartbeats() {
        HeartbeatRing ring = new HeartbeatRing(4);
        assertEquals(-1, ring.lastNanos());
        assertEquals(-1, ring.firstNanosAfter(0));
        assertEquals(-1, ring.largestGapNanos(0, 1000));
        for (long t : new long[] {100, 110, 120, 300, 310, 315}) {
            ring.record(t);
        }
        assertEquals(6, ring.count());
        assertEquals(315, ring.lastNanos());
        // 100 and 110 fell out of the ring.
        assertEquals(120, ring.firstNanosAfter(0));
        assertEquals(300, ring.firstNanosAfter(121));
        assertEquals(300, ring.firstNanosAfter(300));
        assertEquals(-1, ring.firstNanosAfter(316));
        assertEquals(180, ring.largestGapNanos(0, 1000), "120 -> 300");
        assertEquals(10, ring.largestGapNanos(300, 1000));
        assertEquals(-1, ring.largestGapNanos(121, 299), "no arrival is no gap");
        assertEquals(-1, ring.largestGapNanos(312, 1000), "one arrival is no gap");
    }

    @Test
    void needsRoomForTwo() {
        assertThrows(IllegalArgumentException.class, () -> new HeartbeatRing(1));
    }
}
