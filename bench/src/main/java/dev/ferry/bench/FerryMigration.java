package dev.ferry.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Ferry's live migration end to end, through its command line as an operator runs it: a source VMM with the
 * workload guest, a destination VMM waiting with {@code vmm incoming}, then {@code ferry migrate --json}, whose
 * report gives the figures. Nothing of Ferry's is linked in: what is measured is what a user gets.
 */
final class FerryMigration {
    private static final long PAGE_BYTES = 4096;
    private static final Duration REHEARSAL_PATIENCE = Duration.ofSeconds(30);
    private final List<String> ferry;
    private final Duration timeout;
    private final Duration warmup;
    private final Path logs;
    private final ChildProcesses children;

    /** {@code ferry} is the command that runs the CLI, e.g. {@code [java, --enable-native-access=ALL-UNNAMED, -jar, ferry.jar]}. */
    FerryMigration(List<String> ferry, Duration timeout, Duration warmup, Path logs, ChildProcesses children) {
        this.ferry = List.copyOf(ferry);
        this.timeout = timeout;
        this.warmup = warmup;
        this.logs = logs;
        this.children = children;
    }

    /** Whether both VMM commands take {@code --serial unix:PATH}, so the harness can time heartbeats itself. */
    private boolean serialSockets;

    /** Null when the CLI has every command the benchmark drives; otherwise what is missing. */
    String unavailableReason() throws InterruptedException {
        int serialOptions = 0;
        for (List<String> command : List.of(List.of("vmm", "run", "--help"), List.of("vmm", "incoming", "--help"),
                List.of("migrate", "--help"))) {
            try {
                Result result = execute(command, Duration.ofSeconds(60), null);
                String words = String.join(" ", command.subList(0, command.size() - 1));
                // picocli answers --help of a missing subcommand with its parent's usage, and exit code 0.
                if (result.exitCode() != 0 || !firstLine(result.stdout()).contains("ferry " + words)) {
                    return "`ferry " + words + "` is not there (" + firstLine(result.stdout() + result.stderr()) + ")";
                }
                if (words.startsWith("vmm") && result.stdout().contains("--serial")) {
                    serialOptions++;
                }
            } catch (IOException e) {
                return "cannot run " + ferry + ": " + e.getMessage();
            }
        }
        serialSockets = serialOptions == 2;
        return null;
    }

    /** A VMM logs either of these when its start-up rehearsal ends (cli's MigrationRehearsal). */
    private boolean rehearsalEnded(String file) {
        return logSays(file, "rehearsed migration") || logSays(file, "no migration rehearsal");
    }

    private boolean logSays(String file, String text) {
        try {
            return Files.readString(logs.resolve(file)).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    MigrationRun run(BenchCase c, int repetition) throws InterruptedException {
        String tag = c.name() + "-" + repetition;
        int sourcePort = FreePort.pick();
        int destinationPort = FreePort.pick();
        String source = "127.0.0.1:" + sourcePort;
        String destination = "127.0.0.1:" + destinationPort;
        Map<String, Object> raw = new LinkedHashMap<>();
        raw.put("workload", c.workload().ferrySpec());
        Process sourceVmm = null;
        Process destinationVmm = null;
        Path sockets = null;
        HeartbeatGapMeter.Pending sourceBeats = null;
        HeartbeatGapMeter.Pending destinationBeats = null;
        try {
            List<String> sourceCommand = new ArrayList<>(List.of("vmm", "run", "--name", "bench-" + tag,
                    "--memory", (c.memoryBytes() / BenchCase.MIB) + "M", "--workload", c.workload().ferrySpec(),
                    "--control", source));
            List<String> destinationCommand = new ArrayList<>(List.of("vmm", "incoming", "--control", destination));
            if (c.preallocated()) {
                destinationCommand.addAll(List.of("--prealloc", (c.memoryBytes() / BenchCase.MIB) + "M"));
            }
            if (serialSockets) {
                sockets = Files.createTempDirectory("ferry-bench-serial-");
                sourceCommand.addAll(List.of("--serial", "unix:" + sockets.resolve("src.serial")));
                destinationCommand.addAll(List.of("--serial", "unix:" + sockets.resolve("dst.serial")));
            } else {
                sourceCommand.addAll(List.of("--serial", "none"));
            }
            sourceVmm = start(sourceCommand, logs.resolve(tag + "-ferry-source.log"));
            destinationVmm = start(destinationCommand, logs.resolve(tag + "-ferry-destination.log"));
            if (!FreePort.awaitListening(sourcePort, sourceVmm, Duration.ofSeconds(60))) {
                return failed(c, repetition, "the source VMM did not listen on " + source + tail(tag + "-ferry-source.log"), raw);
            }
            if (!FreePort.awaitListening(destinationPort, destinationVmm, Duration.ofSeconds(60))) {
                return failed(c, repetition, "the destination VMM did not listen on " + destination
                        + tail(tag + "-ferry-destination.log"), raw);
            }
            if (sockets != null) {
                Duration patience = timeout.plusSeconds(30);
                sourceBeats = new HeartbeatGapMeter.Pending(sockets.resolve("src.serial"), "ferry-src", patience);
                destinationBeats = new HeartbeatGapMeter.Pending(sockets.resolve("dst.serial"), "ferry-dst", patience);
            }
            Thread.sleep(warmup.toMillis());
            // And longer while the VMMs still rehearse: migrations of VMMs that have been up a while are measured.
            long rehearsalDeadline = System.nanoTime() + REHEARSAL_PATIENCE.toNanos();
            while (!(rehearsalEnded(tag + "-ferry-source.log") && rehearsalEnded(tag + "-ferry-destination.log"))
                    && System.nanoTime() < rehearsalDeadline) {
                Thread.sleep(50);
            }
            // Whether both VMMs finished their start-up migration rehearsal before the migration began.
            raw.put("vmms_rehearsed", logSays(tag + "-ferry-source.log", "rehearsed migration")
                    && logSays(tag + "-ferry-destination.log", "rehearsed migration"));

            List<String> migrate = new ArrayList<>(List.of("migrate", "--source", source, "--dest", destination,
                    "--timeout", timeout.toSeconds() + "s", "--json"));
            if (c.maxDowntimeMs() != null) {
                migrate.add("--max-downtime");
                migrate.add(c.maxDowntimeMs() + "ms");
            }
            if (c.autoConverge()) {
                migrate.addAll(List.of("--on-stall", "auto-converge"));
            }
            raw.put("command", "ferry " + String.join(" ", migrate));
            long start = System.nanoTime();
            Result result = execute(migrate, timeout.plusSeconds(60), logs.resolve(tag + "-ferry-migrate.log"));
            int brace = result.stdout().indexOf('{');
            if (brace < 0) {
                return failed(c, repetition, "ferry migrate exited " + result.exitCode() + " without a report: "
                        + firstLine(result.stderr()), raw);
            }
            Map<String, Object> report = Json.parseObject(result.stdout().substring(brace));
            raw.put("report", report);
            String status = String.valueOf(report.get("status"));
            if (status.equals("completed") && result.exitCode() == 0) {
                Double blackout = number(report.get("guest_blackout_ms"));
                Double measured = sourceBeats == null ? null
                        : harnessBlackoutMs(sourceBeats.get(), destinationBeats.get(), start);
                raw.put("harness_blackout_ms", measured);
                return new MigrationRun(c.name(), repetition, MigrationRun.Outcome.COMPLETED, "completed",
                        number(report.get("total_ms")), number(report.get("setup_ms")), number(report.get("downtime_ms")),
                        number(report.get("expected_downtime_ms")),
                        measured != null ? measured : blackout, integer(report.get("rounds")),
                        integer(report.get("ram_total_bytes")), integer(report.get("transferred_bytes")),
                        precopyBytes(report), number(report.get("dirty_rate_pages_per_s")), raw);
            }
            String error = report.get("error") == null ? "" : String.valueOf(report.get("error"));
            if (status.contains("cancel") || error.contains("timed out")) {
                return MigrationRun.without(c.name(), repetition, MigrationRun.Outcome.DID_NOT_CONVERGE,
                        "did not complete in " + timeout.toSeconds() + " s (timed out)", raw);
            }
            if (error.contains("did not converge")) {
                return MigrationRun.without(c.name(), repetition, MigrationRun.Outcome.DID_NOT_CONVERGE,
                        shortReason(error), raw);
            }
            return MigrationRun.without(c.name(), repetition, MigrationRun.Outcome.FAILED,
                    status + (error.isEmpty() ? "" : ": " + error), raw);
        } catch (IOException | RuntimeException e) {
            return failed(c, repetition, e.toString(), raw);
        } finally {
            if (sourceBeats != null) {
                sourceBeats.close();
            }
            if (destinationBeats != null) {
                destinationBeats.close();
            }
            quit(destination, destinationVmm);
            quit(source, sourceVmm);
            if (sockets != null) {
                try (var files = Files.list(sockets)) {
                    for (Path file : files.toList()) {
                        Files.deleteIfExists(file);
                    }
                    Files.deleteIfExists(sockets);
                } catch (IOException ignored) {
                    // a temp dir left behind is harmless
                }
            }
        }
    }

    /**
     * The same measure as for QEMU: the source guest's last heartbeat to the destination guest's first, as the
     * harness receives them. Null when the sockets gave no heartbeats on either side.
     */
    private static Double harnessBlackoutMs(HeartbeatGapMeter sourceBeats, HeartbeatGapMeter destinationBeats, long start)
            throws InterruptedException {
        if (sourceBeats == null || destinationBeats == null) {
            return null;
        }
        long lastSource = sourceBeats.last();
        long firstDestination = destinationBeats.awaitFirstAfter(start, Duration.ofSeconds(3));
        if (lastSource < 0 || firstDestination < 0 || firstDestination < lastSource) {
            return null;
        }
        return (firstDestination - lastSource) / 1e6;
    }

    private void quit(String control, Process vmm) throws InterruptedException {
        if (vmm == null) {
            return;
        }
        if (vmm.isAlive()) {
            try {
                execute(List.of("vmm", "quit", "--control", control), Duration.ofSeconds(30), null);
            } catch (IOException ignored) {
                // stopped below in any case
            }
        }
        children.stop(vmm, Duration.ofSeconds(10));
    }

    private Process start(List<String> arguments, Path log) throws IOException {
        Files.createDirectories(log.getParent());
        List<String> command = new ArrayList<>(ferry);
        command.addAll(arguments);
        return children.start(new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()));
    }

    private record Result(int exitCode, String stdout, String stderr) {
    }

    private Result execute(List<String> arguments, Duration limit, Path stderrLog) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(ferry);
        command.addAll(arguments);
        Path out = Files.createTempFile("ferry-bench-", ".out");
        Path err = stderrLog != null ? stderrLog : Files.createTempFile("ferry-bench-", ".err");
        if (stderrLog != null) {
            Files.createDirectories(stderrLog.getParent());
        }
        Process process = children.start(new ProcessBuilder(command)
                .redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE));
        process.getOutputStream().close();
        try {
            if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                children.stop(process, Duration.ZERO);
                throw new IOException("ferry " + String.join(" ", arguments) + " did not end in " + limit.toSeconds() + " s");
            }
            children.stop(process, Duration.ZERO);
            return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            if (stderrLog == null) {
                Files.deleteIfExists(err);
            }
        }
    }

    private MigrationRun failed(BenchCase c, int repetition, String why, Map<String, Object> raw) {
        return MigrationRun.without(c.name(), repetition, MigrationRun.Outcome.FAILED, why, raw);
    }

    private String tail(String logName) {
        try {
            return " (" + firstLine(Files.readString(logs.resolve(logName))) + ")";
        } catch (IOException e) {
            return "";
        }
    }

    /** Ferry's reason up to its first colon ("did not converge in 30 rounds"); the whole of it is in the JSON. */
    private static String shortReason(String error) {
        int colon = error.indexOf(':');
        return colon < 0 ? error : error.substring(0, colon);
    }

    private static String firstLine(String text) {
        String trimmed = text.strip();
        int newline = trimmed.indexOf('\n');
        return newline < 0 ? trimmed : trimmed.substring(0, newline);
    }

    /** Non-zero pages of every round but the last, the stop-and-copy one, in bytes. */
    static Long precopyBytes(Map<String, Object> report) {
        if (!(report.get("round_reports") instanceof List<?> rounds) || rounds.isEmpty()) {
            return null;
        }
        long pages = 0;
        for (Object round : rounds.subList(0, rounds.size() - 1)) {
            if (!(round instanceof Map<?, ?> r)) {
                return null;
            }
            Long sent = integer(r.get("pages"));
            Long zero = integer(r.get("zero_pages"));
            if (sent == null || zero == null) {
                return null;
            }
            pages += sent - zero;
        }
        return pages * PAGE_BYTES;
    }

    private static Double number(Object value) {
        return value instanceof Number n ? n.doubleValue() : null;
    }

    private static Long integer(Object value) {
        return value instanceof Number n ? n.longValue() : null;
    }
}
