package dev.ferry.bench;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class PrecopyThroughputTest {
    @Test
    void ferryCountsTheNonZeroPagesOfEveryRoundButTheStopAndCopyOne() {
        Map<String, Object> report = Map.of("round_reports", List.of(
                Map.of("round", 1L, "pages", 262144L, "zero_pages", 236544L),
                Map.of("round", 2L, "pages", 25600L, "zero_pages", 0L),
                Map.of("round", 3L, "pages", 25600L, "zero_pages", 0L)));
        assertEquals(2 * 25600L * 4096, FerryMigration.precopyBytes(report));
        assertNull(FerryMigration.precopyBytes(Map.of("round_reports", List.of())));
        assertNull(FerryMigration.precopyBytes(Map.of()));
    }

    @Test
    void precopyTimeLeavesOutSetupAndDowntime() {
        MigrationRun run = new MigrationRun("c", 1, MigrationRun.Outcome.COMPLETED, "completed",
                300.0, 20.0, 80.0, null, null, 2L, 1L << 30, 200L << 20, 100L << 20, null, Map.of());
        assertEquals(500.0, run.precopyMibPerS(), 1e-9, "100 MiB in 200 ms");
        MigrationRun unknown = new MigrationRun("c", 1, MigrationRun.Outcome.COMPLETED, "completed",
                300.0, 20.0, 80.0, null, null, 2L, 1L << 30, 200L << 20, null, null, Map.of());
        assertNull(unknown.precopyMibPerS());
    }
}
