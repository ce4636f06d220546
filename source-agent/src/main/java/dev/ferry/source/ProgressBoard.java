package dev.ferry.source;

import dev.ferry.proto.v1.MigrationProgress;
import dev.ferry.proto.v1.MigrationReport;

/**
 * What {@link SourceMigration#progress()} shows, updated by the engine thread and read by any thread.
 *
 * <p>Neither figure runs backwards when pages are re-dirtied: the percentage is
 * {@code max(previous, sent / (sent + remaining))} over pages, and the ETA (remaining bytes at the estimated
 * bandwidth plus the measured switchover overhead) only ever moves down: a larger fresh estimate is
 * clamped to the previous one. Both are monotonic by rule, not by accident of the workload.
 */
final class ProgressBoard {
    private final long startNanos = System.nanoTime();
    private final long ramBytes;
    private String phase = "setup";
    private int round;
    private long transferredBytes;
    private long sentPages;
    private long remainingPages;
    private double throughputMbps;
    private double dirtyRate;
    private double expectedDowntimeMs = -1;
    private double percent;
    private long etaMs = -1;
    private boolean stalled;
    private int throttle;
    private MigrationReport report;

    ProgressBoard(long ramBytes) {
        this.ramBytes = ramBytes;
    }

    synchronized void phase(String value) {
        phase = value;
    }

    synchronized void round(int value) {
        round = value;
    }

    synchronized void sent(long pages, long bytes, long remaining, double mbps) {
        sentPages += pages;
        transferredBytes += bytes;
        remainingPages = remaining;
        throughputMbps = mbps;
        if (sentPages + remaining > 0) {
            percent = Math.max(percent, Math.min(100.0, 100.0 * sentPages / (sentPages + remaining)));
        }
    }

    synchronized void estimate(double dirtyPagesPerSecond, double expectedDowntime, double etaMillis, boolean isStalled,
                               int throttlePercent) {
        dirtyRate = dirtyPagesPerSecond;
        expectedDowntimeMs = Double.isFinite(expectedDowntime) ? expectedDowntime : -1;
        if (Double.isFinite(etaMillis)) {
            long fresh = Math.max(0, (long) etaMillis);
            etaMs = etaMs < 0 ? fresh : Math.min(etaMs, fresh);
        }
        stalled = isStalled;
        throttle = throttlePercent;
    }

    synchronized void finish(MigrationReport finalReport) {
        report = finalReport;
        phase = finalReport.getStatus();
        if (finalReport.getStatus().equals("completed")) {
            percent = 100;
            etaMs = 0;
            remainingPages = 0;
        }
        throttle = 0;
    }

    synchronized MigrationProgress snapshot() {
        MigrationProgress.Builder builder = MigrationProgress.newBuilder()
                .setPhase(phase)
                .setRound(round)
                .setRamTotalBytes(ramBytes)
                .setTransferredBytes(transferredBytes)
                .setRemainingPages(remainingPages)
                .setThroughputMbps(throughputMbps)
                .setDirtyRatePagesPerS(dirtyRate)
                .setExpectedDowntimeMs(expectedDowntimeMs)
                .setPercent(percent)
                .setEtaMs(etaMs)
                .setStalled(stalled)
                .setThrottlePercent(throttle)
                .setElapsedMs((System.nanoTime() - startNanos) / 1_000_000);
        if (report != null) {
            builder.setReport(report);
        }
        return builder.build();
    }
}
