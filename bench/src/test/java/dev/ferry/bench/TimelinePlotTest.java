package dev.ferry.bench;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TimelinePlotTest {
    private static MigrationRun completed(double totalMs, double setupMs, double downtimeMs, Map<String, Object> raw) {
        return new MigrationRun("c", 1, MigrationRun.Outcome.COMPLETED, "completed", totalMs, setupMs, downtimeMs,
                null, null, 2L, 1L << 30, 1L << 20, 1L << 20, null, raw);
    }

    @Test
    void drawsSetupPrecopyAndDowntimeToScaleWithFerrysRoundEnds() {
        Map<String, Object> report = Map.of("report", Map.of("round_reports", List.of(
                Map.of("duration_ms", 200.0), Map.of("duration_ms", 80.0))));
        String svg = TimelinePlot.svg(List.of(new TimelinePlot.Panel("rewrite <100m>", List.of(
                new TimelinePlot.Row("Ferry #1", completed(400, 20, 80, report)),
                new TimelinePlot.Row("QEMU #1", new MigrationRun("q", 1, MigrationRun.Outcome.DID_NOT_CONVERGE,
                        "did not converge in 30 s", null, null, null, null, null, null, null, null, null, null, Map.of()))))));
        assertTrue(svg.startsWith("<svg"), svg);
        assertTrue(svg.contains("rewrite &lt;100m&gt;"), "titles are escaped");
        // 400 ms on a 400 ms axis over 760 px: 1.9 px per ms.
        assertTrue(svg.contains("<rect x=\"170.0\" y=\"60\" width=\"38.0\""), "setup: 20 ms");
        assertTrue(svg.contains("<rect x=\"208.0\" y=\"60\" width=\"570.0\""), "pre-copy: 300 ms");
        assertTrue(svg.contains("<rect x=\"778.0\" y=\"60\" width=\"152.0\""), "downtime: 80 ms");
        assertTrue(svg.contains("x1=\"588.0\""), "round 1 ends 220 ms in; the last round is the downtime's");
        assertTrue(svg.contains("did-not-converge: did not converge in 30 s"), svg);
        assertTrue(svg.contains(">400 ms</text>"), "the axis reaches the longest run");
    }

    @Test
    void aCaseWithoutACompletedRunGetsItsReasonsAndNoAxis() {
        String svg = TimelinePlot.svg(List.of(new TimelinePlot.Panel("qemu-default", List.of(new TimelinePlot.Row("QEMU #1",
                new MigrationRun("q", 1, MigrationRun.Outcome.FAILED, "migration failed", null, null, null, null, null,
                        null, null, null, null, null, Map.of()))))));
        assertTrue(svg.contains("failed: migration failed"), svg);
        assertTrue(!svg.contains(" ms</text>"), svg);
    }

    @Test
    void ticksAreOneTwoOrFiveTimesAPowerOfTenAndAtMostFive() {
        assertEquals(100, TimelinePlot.tickStep(400), 1e-9);
        assertEquals(200, TimelinePlot.tickStep(724), 1e-9);
        assertEquals(20, TimelinePlot.tickStep(57.6), 1e-9);
        assertEquals(2000, TimelinePlot.tickStep(5126), 1e-9);
    }
}
