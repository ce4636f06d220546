package dev.ferry.vmm.devices;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class HeartbeatLogTest {
    @Test
    void answersGapsAndFirstArrivalsFromTheRing() {
        HeartbeatLog log = new HeartbeatLog(4);
        assertEquals(-1, log.lastNanos());
        assertEquals(-1, log.largestGapNanos(0, 100));
        for (long t : new long[] {10, 20, 30, 80, 90}) {
            log.record(t);
        }
        assertEquals(5, log.count());
        assertEquals(90, log.lastNanos());
        assertEquals(50, log.largestGapNanos(0, 100), "30 -> 80");
        assertEquals(10, log.largestGapNanos(80, 100));
        assertEquals(-1, log.largestGapNanos(85, 100), "one arrival is no gap");
        assertEquals(80, log.firstNanosAfter(31));
        assertEquals(20, log.firstNanosAfter(5), "10 has left the ring of four");
        assertEquals(-1, log.firstNanosAfter(91));
    }
}
