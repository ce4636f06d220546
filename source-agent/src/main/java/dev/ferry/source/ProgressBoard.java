package dev.ferry.source;

import dev.ferry.proto.v1.MigrationProgress;
import dev.ferry.proto.v1.MigrationReport;

/**
 * What {@link SourceMigration#progress()} shows, updated by the engine thread and read by any thread.
 *
 * <p>Neither figure runs backwards when pages are re-dirtied: the percentage is
 * {@code max(previous, sent / (sent + remaining))} over pages, and the ETA only ever moves down: a larger
 * fresh estimate is clamped to the previous one. The fresh estimate is the remaining bytes at the current
 * throughput, stretched by {@code 1 / (1 - r)} for the pages later rounds will resend ({@code r} = dirty
 * bytes per second over bandwidth, the geometric series of pre-copy), plus the measured switchover
 * overhead; while {@code r >= 1} there is no fresh estimate and the ETA holds. Both are monotonic by rule,
 * not by accident of the workload.
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
    private double bytesPerPage = 4096;
    private double overheadMs;
    private double resendFactor = 1;

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
        if (mbps > 0 && resendFactor > 0) {
            double fresh = remaining * bytesPerPage / (mbps * 1e3) * resendFactor + overheadMs;
            etaMs = etaMs < 0 ? (long) fresh : Math.min(etaMs, (long) fresh);
        }
    }

    /** The model behind the ETA, refreshed after each round; {@code dirtyOverBandwidth} is r. */
    synchronized void model(double pageBytes, double switchoverMs, double dirtyOverBandwidth) {
        bytesPerPage = pageBytes;
        overheadMs = Double.isFinite(switchoverMs) ? switchoverMs : 0;
        resendFactor = dirtyOverBandwidth < 1 ? 1 / (1 - dirtyOverBandwidth) : 0;
    }

    synchronized void estimate(double dirtyPagesPerSecond, double expectedDowntime, boolean isStalled,
                               int throttlePercent) {
        dirtyRate = dirtyPagesPerSecond;
        expectedDowntimeMs = Double.isFinite(expectedDowntime) ? expectedDowntime : -1;
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
