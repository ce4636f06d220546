package dev.ferry.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One repetition of one case, in the benchmark's own units (milliseconds, bytes), whichever engine ran it.
 * Figures are null where the run did not produce them; {@code raw} keeps what the engine itself reported.
 * {@code dirtyPagesPerS} is the guest's dirty rate as the engine last measured it: the same guest dirties at
 * different rates under different accelerators, and the comparison is only fair where these are close.
 * {@code expectedDowntimeMs} is Ferry's estimate of the downtime when it decided to stop and copy (null for
 * QEMU, see {@link QemuMigration}). {@code precopyBytes} is what the engine sent of non-zero pages before it paused the guest (see
 * {@link #precopyMibPerS}).
 */
record MigrationRun(String caseName, int repetition, Outcome outcome, String detail,
                    Double totalMs, Double setupMs, Double downtimeMs, Double expectedDowntimeMs, Double blackoutMs,
                    Long rounds,
                    Long ramBytes, Long transferredBytes, Long precopyBytes, Double dirtyPagesPerS,
                    Map<String, Object> raw) {
    enum Outcome {
        COMPLETED, DID_NOT_CONVERGE, FAILED, UNAVAILABLE;

        /** As the results file and the output say it: {@code did-not-converge}. */
        String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    static MigrationRun without(String caseName, int repetition, Outcome outcome, String detail, Map<String, Object> raw) {
        return new MigrationRun(caseName, repetition, outcome, detail, null, null, null, null, null, null, null, null,
                null, null, raw);
    }

    /** Bytes on the wire over the whole migration time, in MiB/s. */
    Double throughputMibPerS() {
        if (transferredBytes == null || totalMs == null || totalMs <= 0) {
            return null;
        }
        return transferredBytes / (double) BenchCase.MIB / (totalMs / 1000.0);
    }

    /**
     * Pre-copy throughput of non-zero pages, in MiB/s: {@code precopyBytes} over the time the guest ran while
     * pages were sent (total less setup less downtime). Unlike {@link #throughputMibPerS} it leaves out the
     * stop-and-copy phase, which runs with the guest paused and so with the whole host to itself.
     */
    Double precopyMibPerS() {
        if (precopyBytes == null || totalMs == null || setupMs == null || downtimeMs == null) {
            return null;
        }
        double seconds = (totalMs - setupMs - downtimeMs) / 1000.0;
        return seconds > 0 ? precopyBytes / (double) BenchCase.MIB / seconds : null;
    }

    Map<String, Object> json() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("case", caseName);
        json.put("repetition", repetition);
        json.put("outcome", outcome.label());
        json.put("detail", detail);
        json.put("total_ms", totalMs);
        json.put("setup_ms", setupMs);
        json.put("downtime_ms", downtimeMs);
        json.put("expected_downtime_ms", expectedDowntimeMs);
        json.put("guest_blackout_ms", blackoutMs);
        json.put("rounds", rounds);
        json.put("ram_bytes", ramBytes);
        json.put("transferred_bytes", transferredBytes);
        json.put("throughput_mib_per_s", throughputMibPerS());
        json.put("precopy_bytes", precopyBytes);
        json.put("precopy_mib_per_s", precopyMibPerS());
        json.put("dirty_pages_per_s", dirtyPagesPerS);
        json.put("raw", raw);
        return json;
    }
}
