package dev.ferry.source;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BandwidthEstimateTest {
    private static final long MIB = 1 << 20;

    @Test
    void anUncappedBurstBoundsWhatCappedRoundsSeemToShow() {
        BandwidthEstimate estimate = new BandwidthEstimate(0);
        assertFalse(estimate.known());
        // A capped round: the sender only timed its own work, 64 MiB in 50 ms.
        estimate.sample(64 * MIB, 50_000_000L, 1);
        assertEquals(64 * MIB / 0.05, estimate.bytesPerSecond(), 1);
        // The same link timed end to end: 32 MiB in 100 ms.
        estimate.burst(32 * MIB, 100_000_000L);
        assertEquals(32 * MIB / 0.1, estimate.bytesPerSecond(), 1);
        assertEquals(100, estimate.pausedMillisFor(32 * MIB), 1e-6);
    }

    @Test
    void aBurstAloneIsAnEstimateAndAFasterOneDoesNotRaiseSlowerSamples() {
        BandwidthEstimate estimate = new BandwidthEstimate(0);
        estimate.burst(10 * MIB, 100_000_000L);
        assertTrue(estimate.known());
        assertEquals(100 * MIB, estimate.bytesPerSecond(), 1);
        estimate.sample(10 * MIB, 200_000_000L, 1);
        assertEquals(50 * MIB, estimate.bytesPerSecond(), 1);
    }

    @Test
    void theFinalPhaseGoesAtTheLivePaceForItsFirstWindowAndFasterAfter() {
        BandwidthEstimate estimate = new BandwidthEstimate(16 * MIB);
        estimate.sample(64 * MIB, 100_000_000L, 2);
        // 640 MiB/s live, 1280 paused: 16 MiB in 25 ms, then 48 MiB in 37.5 ms.
        assertEquals(25, estimate.pausedMillisFor(16 * MIB), 1e-6);
        assertEquals(62.5, estimate.pausedMillisFor(64 * MIB), 1e-6);
    }

    @Test
    void theFinalPhaseGetsTheRoundsBandwidthTimesTheirPausedSpeedup() {
        BandwidthEstimate estimate = new BandwidthEstimate(0);
        estimate.sample(64 * MIB, 100_000_000L, 2);
        assertEquals(640 * MIB, estimate.bytesPerSecond(), 1);
        assertEquals(1280 * MIB, estimate.pausedBytesPerSecond(), 1);
        assertEquals(50, estimate.pausedMillisFor(64 * MIB), 1e-6);
        // Smoothed like the live samples: a round with nothing to gain from a pause halves the gain.
        estimate.sample(64 * MIB, 100_000_000L, 1);
        assertEquals(640 * MIB, estimate.bytesPerSecond(), 1);
        assertEquals(960 * MIB, estimate.pausedBytesPerSecond(), 1);
        // A burst bounds both.
        estimate.burst(80 * MIB, 100_000_000L);
        assertEquals(800 * MIB, estimate.pausedBytesPerSecond(), 1);
    }
}
