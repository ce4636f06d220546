package dev.ferry.bench;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The human side of the results: the loopback ceilings, then per case min/median/max of every figure with the
 * median read as a ratio to the link and to the QEMU counterpart, then a one-line-per-case summary.
 */
final class ResultTable {
    private final PrintStream out;

    ResultTable(PrintStream out) {
        this.out = out;
    }

    void ceilings(Map<String, List<LoopbackCeiling.Transfer>> byLink) {
        if (byLink.isEmpty()) {
            return;
        }
        out.println();
        out.println("Loopback ceilings (min / median / max)");
        out.printf("  %-36s %9s %8s %8s   %13s %10s %10s%n", "link", "GiB/s min", "median", "max",
                "CPU s/GiB min", "median", "max");
        for (Map.Entry<String, List<LoopbackCeiling.Transfer>> e : byLink.entrySet()) {
            Stats rate = Stats.of(e.getValue().stream().map(LoopbackCeiling.Transfer::gibPerS).toList());
            Stats cpu = Stats.of(e.getValue().stream().map(LoopbackCeiling.Transfer::cpuSecondsPerGib).toList());
            String label = switch (e.getKey()) {
                case "tcp" -> "tcp, 1 MiB writes";
                case "grpc" -> "grpc, 1 MiB messages, 16 MiB window";
                case "grpc-busy" -> "grpc, as above, one core kept busy";
                default -> e.getKey();
            };
            out.printf("  %-36s %9.2f %8.2f %8.2f   %13.2f %10.2f %10.2f%n", label,
                    rate.min(), rate.median(), rate.max(), cpu.min(), cpu.median(), cpu.max());
        }
    }

    /** One case: its figures, and their medians against the link ({@code linkMibPerS} by name) and the QEMU counterpart. */
    void migrationCase(BenchCase c, List<MigrationRun> runs, Map<String, Double> linkMibPerS,
                       BenchCase counterpart, List<MigrationRun> counterpartRuns) {
        out.println();
        out.printf("%s: %s%n", c.name(), c.meaning());
        out.printf("  %s%n", outcomes(runs));
        if (runs.stream().noneMatch(r -> r.outcome() == MigrationRun.Outcome.COMPLETED)) {
            return;
        }
        boolean compare = counterpart != null && counterpartRuns != null
                && counterpartRuns.stream().anyMatch(r -> r.outcome() == MigrationRun.Outcome.COMPLETED);
        out.printf("  %-20s %10s %10s %10s %12s %12s %12s %s%n", "", "min", "median", "max", "/ tcp", "/ grpc", "/ grpc-busy",
                compare ? "/ " + counterpart.name() : "");
        row("total time ms", runs, MigrationRun::totalMs, false, linkMibPerS, compare ? counterpartRuns : null);
        row("setup ms", runs, MigrationRun::setupMs, false, linkMibPerS, compare ? counterpartRuns : null);
        row("downtime ms", runs, MigrationRun::downtimeMs, false, linkMibPerS, compare ? counterpartRuns : null);
        row("expected downtime ms", runs, MigrationRun::expectedDowntimeMs, false, linkMibPerS,
                compare ? counterpartRuns : null);
        row("guest blackout ms", runs, MigrationRun::blackoutMs, false, linkMibPerS, compare ? counterpartRuns : null);
        row("rounds", runs, r -> r.rounds() == null ? null : r.rounds().doubleValue(), false, linkMibPerS,
                compare ? counterpartRuns : null);
        row("transferred MiB", runs, r -> r.transferredBytes() == null ? null : r.transferredBytes() / (double) BenchCase.MIB,
                false, linkMibPerS, compare ? counterpartRuns : null);
        row("throughput MiB/s", runs, MigrationRun::throughputMibPerS, true, linkMibPerS, compare ? counterpartRuns : null);
        row("pre-copy MiB/s", runs, MigrationRun::precopyMibPerS, true, linkMibPerS, compare ? counterpartRuns : null);
        row("guest dirty pages/s", runs, MigrationRun::dirtyPagesPerS, false, linkMibPerS, compare ? counterpartRuns : null);
    }

    private void row(String label, List<MigrationRun> runs, Function<MigrationRun, Double> figure, boolean perLink,
                     Map<String, Double> linkMibPerS, List<MigrationRun> counterpartRuns) {
        Stats s = Stats.of(completed(runs).stream().map(figure).toList());
        if (s.empty()) {
            out.printf("  %-20s %10s %10s %10s%n", label, "n/a", "n/a", "n/a");
            return;
        }
        String tcp = perLink ? ratio(s.median(), linkMibPerS.get("tcp")) : "";
        String grpc = perLink ? ratio(s.median(), linkMibPerS.get("grpc")) : "";
        String grpcBusy = perLink ? ratio(s.median(), linkMibPerS.get("grpc-busy")) : "";
        String qemu = "";
        if (counterpartRuns != null) {
            Stats q = Stats.of(completed(counterpartRuns).stream().map(figure).toList());
            qemu = q.empty() ? "" : ratio(s.median(), q.median()) + "  (" + number(q.median()) + ")";
        }
        out.printf("  %-20s %10s %10s %10s %12s %12s %12s %s%n", label, number(s.min()), number(s.median()), number(s.max()),
                tcp, grpc, grpcBusy, qemu);
    }

    /** One line per case, medians only, for scanning. */
    void summary(List<BenchCase> cases, Map<String, List<MigrationRun>> runs) {
        out.println();
        out.println("Summary (medians over completed repetitions)");
        out.printf("  %-26s %-10s %10s %11s %11s %7s %12s %10s %14s%n", "case", "completed", "total ms", "downtime ms",
                "blackout ms", "rounds", "transferred", "MiB/s", "pre-copy MiB/s");
        for (BenchCase c : cases) {
            List<MigrationRun> list = runs.get(c.name());
            if (list == null) {
                continue;
            }
            List<MigrationRun> done = completed(list);
            String status = done.size() + "/" + list.size();
            if (done.isEmpty()) {
                out.printf("  %-26s %-10s %s%n", c.name(), status, list.isEmpty() ? "" : list.getFirst().detail());
                continue;
            }
            out.printf("  %-26s %-10s %10s %11s %11s %7s %12s %10s %14s%n", c.name(), status,
                    median(done, MigrationRun::totalMs), median(done, MigrationRun::downtimeMs),
                    median(done, MigrationRun::blackoutMs),
                    median(done, r -> r.rounds() == null ? null : r.rounds().doubleValue()),
                    median(done, r -> r.transferredBytes() == null ? null : r.transferredBytes() / (double) BenchCase.MIB) + " MiB",
                    median(done, MigrationRun::throughputMibPerS), median(done, MigrationRun::precopyMibPerS));
        }
    }

    private static String median(List<MigrationRun> runs, Function<MigrationRun, Double> figure) {
        Stats s = Stats.of(runs.stream().map(figure).toList());
        return s.empty() ? "n/a" : number(s.median());
    }

    static List<MigrationRun> completed(List<MigrationRun> runs) {
        return runs.stream().filter(r -> r.outcome() == MigrationRun.Outcome.COMPLETED).toList();
    }

    private static String outcomes(List<MigrationRun> runs) {
        long done = runs.stream().filter(r -> r.outcome() == MigrationRun.Outcome.COMPLETED).count();
        StringBuilder text = new StringBuilder(done + "/" + runs.size() + " completed");
        runs.stream().filter(r -> r.outcome() != MigrationRun.Outcome.COMPLETED)
                .map(MigrationRun::detail).distinct()
                .forEach(d -> text.append("; ").append(d));
        return text.toString();
    }

    private static String ratio(double value, Double reference) {
        if (reference == null || reference.isNaN() || reference <= 0) {
            return "";
        }
        double r = value / reference;
        return r >= 100 ? String.format("%.0fx", r) : r >= 10 ? String.format("%.1fx", r) : String.format("%.2fx", r);
    }

    static String number(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        double a = Math.abs(v);
        if (a >= 1000 || v == Math.rint(v)) {
            return String.format("%.0f", v);
        }
        return a >= 100 ? String.format("%.1f", v) : a >= 1 ? String.format("%.2f", v) : String.format("%.3f", v);
    }
}
