package dev.ferry.cli;

import dev.ferry.proto.v1.MigrationProgress;
import dev.ferry.proto.v1.MigrationReport;
import dev.ferry.proto.v1.RoundReport;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The migration report and progress, as JSON (snake_case keys) and as text. */
final class MigrationReportView {
    private MigrationReportView() {
    }

    static Map<String, Object> json(MigrationReport r) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("status", r.getStatus());
        json.put("mode", r.getMode());
        json.put("total_ms", r.getTotalMs());
        json.put("setup_ms", r.getSetupMs());
        json.put("downtime_ms", r.getDowntimeMs());
        json.put("expected_downtime_ms", r.getExpectedDowntimeMs());
        json.put("guest_blackout_ms", r.hasGuestBlackoutMs() ? r.getGuestBlackoutMs() : null);
        json.put("rounds", r.getRounds());
        json.put("ram_total_bytes", r.getRamTotalBytes());
        json.put("transferred_bytes", r.getTransferredBytes());
        json.put("zero_pages", r.getZeroPages());
        json.put("normal_pages", r.getNormalPages());
        json.put("compressed_pages", r.getCompressedPages());
        json.put("throughput_mbps", r.getThroughputMbps());
        json.put("dirty_rate_pages_per_s", r.getDirtyRatePagesPerS());
        json.put("stalled", r.getStalled());
        json.put("max_throttle_percent", r.getMaxThrottlePercent());
        json.put("verified", r.getVerified());
        json.put("error", r.hasError() ? r.getError() : null);
        json.put("setup_breakdown_ms", new LinkedHashMap<>(r.getSetupBreakdownMsMap()));
        json.put("downtime_breakdown_ms", new LinkedHashMap<>(r.getDowntimeBreakdownMsMap()));
        List<Object> rounds = new ArrayList<>();
        for (RoundReport round : r.getRoundReportsList()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("round", round.getRound());
            row.put("pages", round.getPages());
            row.put("zero_pages", round.getZeroPages());
            row.put("bytes", round.getBytes());
            row.put("duration_ms", round.getDurationMs());
            row.put("dirtied_pages", round.getDirtiedPages());
            rounds.add(row);
        }
        json.put("round_reports", rounds);
        return json;
    }

    static String text(MigrationReport r) {
        StringBuilder out = new StringBuilder();
        line(out, "status", r.getStatus() + (r.hasError() ? ": " + r.getError() : ""));
        line(out, "mode", r.getMode());
        line(out, "total time", String.format("%.1f ms (setup %.1f ms)", r.getTotalMs(), r.getSetupMs()));
        breakdown(out, r.getSetupBreakdownMsMap());
        line(out, "downtime", String.format("%.2f ms (expected %.2f ms)", r.getDowntimeMs(), r.getExpectedDowntimeMs()));
        breakdown(out, r.getDowntimeBreakdownMsMap());
        line(out, "guest blackout", r.hasGuestBlackoutMs() ? String.format("%.2f ms", r.getGuestBlackoutMs()) : "n/a (no heartbeats)");
        line(out, "rounds", r.getRounds() + (r.getStalled() ? " (stalled)" : "")
                + (r.getMaxThrottlePercent() > 0 ? ", throttled up to " + r.getMaxThrottlePercent() + "%" : ""));
        line(out, "RAM", Units.bytes(r.getRamTotalBytes()));
        line(out, "transferred", Units.bytes(r.getTransferredBytes()));
        line(out, "pages", String.format("%d normal, %d zero, %d compressed", r.getNormalPages(), r.getZeroPages(), r.getCompressedPages()));
        line(out, "throughput", String.format("%.1f MB/s", r.getThroughputMbps()));
        line(out, "dirty rate", String.format("%.0f pages/s (last round)", r.getDirtyRatePagesPerS()));
        if (r.getVerified()) {
            line(out, "verified", "every page matched at the stop instant");
        }
        return out.toString();
    }

    /** One progress line for a terminal. */
    static String progressLine(MigrationProgress p) {
        int width = 24;
        int filled = (int) Math.round(p.getPercent() / 100.0 * width);
        String bar = "#".repeat(Math.max(0, Math.min(width, filled))) + ".".repeat(Math.max(0, width - filled));
        String eta = p.getEtaMs() < 0 ? "?" : String.format("%.1fs", p.getEtaMs() / 1000.0);
        return String.format("[%s] %5.1f%% %-13s round %-3d %7.1f MB/s  dirty %7.0f p/s  exp.downtime %6.1f ms%s%s  ETA %s",
                bar, p.getPercent(), p.getPhase(), p.getRound(), p.getThroughputMbps(), p.getDirtyRatePagesPerS(),
                p.getExpectedDowntimeMs(), p.getStalled() ? "  STALLED" : "",
                p.getThrottlePercent() > 0 ? "  throttle " + p.getThrottlePercent() + "%" : "", eta);
    }

    static Map<String, Object> progressJson(MigrationProgress p) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("phase", p.getPhase());
        json.put("round", p.getRound());
        json.put("percent", p.getPercent());
        json.put("eta_ms", p.getEtaMs() < 0 ? null : p.getEtaMs());
        json.put("elapsed_ms", p.getElapsedMs());
        json.put("ram_total_bytes", p.getRamTotalBytes());
        json.put("transferred_bytes", p.getTransferredBytes());
        json.put("remaining_pages", p.getRemainingPages());
        json.put("throughput_mbps", p.getThroughputMbps());
        json.put("dirty_rate_pages_per_s", p.getDirtyRatePagesPerS());
        json.put("expected_downtime_ms", p.getExpectedDowntimeMs());
        json.put("stalled", p.getStalled());
        json.put("throttle_percent", p.getThrottlePercent());
        json.put("report", p.hasReport() ? json(p.getReport()) : null);
        return json;
    }

    private static void breakdown(StringBuilder out, Map<String, Double> parts) {
        if (!parts.isEmpty()) {
            StringBuilder text = new StringBuilder();
            parts.forEach((k, v) -> text.append(String.format("%s %.2f, ", k, v)));
            line(out, "  of which", text.substring(0, text.length() - 2) + " ms");
        }
    }

    private static void line(StringBuilder out, String key, String value) {
        out.append(String.format("%-16s %s%n", key, value));
    }
}
