package dev.ferry.source;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BandwidthEstimateTest {
    private static final long MIB = 1 << 20;

    @Test
    void anUncappedBurstBoundsWhatCappedRoundsSeemToShow() {
        BandwidthEstimate estimate = new BandwidthEstimate();
        assertFalse(estimate.known());
        // A capped round: the sender only timed its own work, 64 MiB in 50 ms.
        estimate.sample(64 * MIB, 50_000_000L);
        assertEquals(64 * MIB / 0.05, estimate.bytesPerSecond(), 1);
        // The same link timed end to end: 32 MiB in 100 ms.
        estimate.burst(32 * MIB, 100_000_000L);
        assertEquals(32 * MIB / 0.1, estimate.bytesPerSecond(), 1);
        assertEquals(100, estimate.millisFor(32 * MIB), 1e-6);
    }

    @Test
    void aBurstAloneIsAnEstimateAndAFasterOneDoesNotRaiseSlowerSamples() {
        BandwidthEstimate estimate = new BandwidthEstimate();
        estimate.burst(10 * MIB, 100_000_000L);
        assertTrue(estimate.known());
        assertEquals(100 * MIB, estimate.bytesPerSecond(), 1);
        estimate.sample(10 * MIB, 200_000_000L);
        assertEquals(50 * MIB, estimate.bytesPerSecond(), 1);
    }
}
