package dev.ferry.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Ferry's migration benchmark (run it with {@code bench/run}): the loopback ceilings, Ferry's migrations through
 * its CLI, and QEMU's migration of the same guest binary, each repeated, in one run on one machine, so that every
 * figure can be read against the link and against QEMU. A table goes to stdout, every raw run to a JSON file.
 */
public final class MigrationBenchmark {
    private static final String USAGE = """
            usage: bench/run [options]
              --repetitions N       repetitions of every case and ceiling (default 3)
              --cases A,B,...       cases to run (default: all); see bench/README.md
              --skip-qemu           no QEMU baseline
              --skip-ferry          no Ferry cases
              --skip-ceilings       no loopback ceilings
              --timeout SECONDS     give up on one migration after this long (default 30)
              --warmup MS           let the guest run this long before migrating (default 4000)
              --ceiling-bytes N     bytes per ceiling transfer, suffix K/M/G allowed (default 2G)
              --json FILE           where to write all raw runs (default bench/results/bench-<time>.json)
              --repo DIR            the Ferry checkout (default: the current directory)
              --guest FILE          the workload guest (default vmm/target/classes/guests/workload.elf)
              --qemu FILE           qemu-system-x86_64 to use (default: from PATH)
              --qemu-machine TYPE   QEMU machine type (default q35)
              --qemu-bios FILE      QEMU firmware (default qboot.rom where installed; 'default' for SeaBIOS)
            """;

    private int repetitions = 3;
    private List<String> caseNames;
    private boolean skipQemu;
    private boolean skipFerry;
    private boolean skipCeilings;
    private Duration timeout = Duration.ofSeconds(30);
    private Duration warmup = Duration.ofMillis(4000);
    private long ceilingBytes = 2 * BenchCase.GIB;
    private Path json;
    private Path repo = Path.of("").toAbsolutePath();
    private Path guest;
    private String qemuBinary;
    private String qemuMachine = "q35";
    private Path qemuBios = QemuMigration.defaultBios();

    private final PrintStream out = System.out;
    private final Map<String, Object> results = new LinkedHashMap<>();
    private final Map<String, List<LoopbackCeiling.Transfer>> ceilings = new LinkedHashMap<>();
    private final Map<String, List<MigrationRun>> runs = new LinkedHashMap<>();

    public static void main(String[] args) throws Exception {
        MigrationBenchmark benchmark = new MigrationBenchmark();
        try {
            benchmark.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("bench: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
        }
        System.exit(benchmark.run());
    }

    private void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "-h", "--help" -> {
                    System.out.print(USAGE);
                    System.exit(0);
                }
                case "--skip-qemu" -> skipQemu = true;
                case "--skip-ferry" -> skipFerry = true;
                case "--skip-ceilings" -> skipCeilings = true;
                default -> {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException("unknown option or missing value: " + arg);
                    }
                    String value = args[++i];
                    switch (arg) {
                        case "--repetitions" -> repetitions = positive(arg, Integer.parseInt(value));
                        case "--cases" -> caseNames = Arrays.stream(value.split(",")).map(String::strip)
                                .filter(s -> !s.isEmpty()).toList();
                        case "--timeout" -> timeout = Duration.ofSeconds(positive(arg, Integer.parseInt(value)));
                        case "--warmup" -> warmup = Duration.ofMillis(Long.parseLong(value));
                        case "--ceiling-bytes" -> ceilingBytes = bytes(value);
                        case "--json" -> json = Path.of(value).toAbsolutePath();
                        case "--repo" -> repo = Path.of(value).toAbsolutePath();
                        case "--guest" -> guest = Path.of(value).toAbsolutePath();
                        case "--qemu" -> qemuBinary = value;
                        case "--qemu-machine" -> qemuMachine = value;
                        case "--qemu-bios" -> qemuBios = value.equals("default") ? null : Path.of(value).toAbsolutePath();
                        default -> throw new IllegalArgumentException("unknown option: " + arg);
                    }
                }
            }
        }
        if (caseNames != null) {
            List<String> known = BenchCase.all().stream().map(BenchCase::name).toList();
            for (String name : caseNames) {
                if (!known.contains(name)) {
                    throw new IllegalArgumentException("unknown case " + name + "; cases: " + String.join(",", known));
                }
            }
        }
    }

    private static int positive(String option, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(option + " must be at least 1");
        }
        return value;
    }

    private static long bytes(String text) {
        String t = text.strip().toUpperCase();
        long unit = switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            default -> 1;
        };
        return Long.parseLong(unit == 1 ? t : t.substring(0, t.length() - 1)) * unit;
    }

    private int run() throws Exception {
        Instant started = Instant.now();
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC).format(started);
        if (json == null) {
            json = repo.resolve("bench/results/bench-" + stamp + ".json");
        }
        Path logs = json.resolveSibling(stripJson(json.getFileName().toString()) + "-logs");
        if (guest == null) {
            guest = repo.resolve("vmm/target/classes/guests/workload.elf");
        }
        List<BenchCase> cases = BenchCase.all().stream()
                .filter(c -> caseNames == null || caseNames.contains(c.name()))
                .filter(c -> !(skipQemu && c.engine() == BenchCase.Engine.QEMU))
                .filter(c -> !(skipFerry && c.engine() == BenchCase.Engine.FERRY))
                .toList();

        results.put("started_at", started.toString());
        results.put("host", host());
        results.put("repetitions", repetitions);
        results.put("timeout_s", timeout.toSeconds());
        results.put("warmup_ms", warmup.toMillis());
        out.printf("Ferry migration benchmark, %s, %d repetitions, %d cores, timeout %d s per migration%n",
                started, repetitions, Runtime.getRuntime().availableProcessors(), timeout.toSeconds());
        out.println("raw results: " + repo.relativize(json) + " (logs in " + repo.relativize(logs) + ")");

        try (ChildProcesses children = new ChildProcesses()) {
            if (!skipCeilings) {
                measureCeilings();
                save();
            }
            runFerry(cases, logs, children);
            runQemu(cases, logs, children);
        }

        ResultTable table = new ResultTable(out);
        table.ceilings(ceilings);
        if (results.get("qemu") instanceof Map<?, ?> qemu && qemu.get("accel") instanceof Map<?, ?> accel) {
            out.println();
            out.println("QEMU: " + qemu.get("version"));
            Map<?, ?> notes = qemu.get("accel_notes") instanceof Map<?, ?> n ? n : Map.of();
            accel.forEach((name, how) -> out.println("  " + name + ": -accel " + how
                    + (notes.get(name) == null ? "" : " (" + notes.get(name) + ")")));
        }
        Map<String, Double> linkMibPerS = new LinkedHashMap<>();
        ceilings.forEach((link, transfers) -> linkMibPerS.put(link,
                Stats.of(transfers.stream().map(LoopbackCeiling.Transfer::gibPerS).toList()).median() * 1024));
        for (BenchCase c : cases) {
            if (!runs.containsKey(c.name())) {
                continue;
            }
            BenchCase counterpart = BenchCase.all().stream().filter(q -> q.name().equals(c.counterpart())).findFirst().orElse(null);
            table.migrationCase(c, runs.get(c.name()), linkMibPerS, counterpart,
                    counterpart == null ? null : runs.get(counterpart.name()));
        }
        table.summary(cases, runs);
        results.put("finished_at", Instant.now().toString());
        save();
        Path plot = json.resolveSibling(stripJson(json.getFileName().toString()) + ".svg");
        Files.writeString(plot, TimelinePlot.svg(panels(cases)), StandardCharsets.UTF_8);
        out.println();
        out.println("raw results written to " + json);
        out.println("timelines drawn in " + plot);
        return 0;
    }

    private void measureCeilings() throws IOException, InterruptedException {
        out.printf("%nloopback ceilings: %d x %s per transfer%n", repetitions, ResultTable.number(ceilingBytes / (double) BenchCase.MIB) + " MiB");
        // A first transfer of each kind warms the JIT (gRPC keeps speeding up for a couple of GiB); not counted.
        LoopbackCeiling.tcp(Math.min(ceilingBytes, 512 * BenchCase.MIB));
        LoopbackCeiling.grpc(ceilingBytes);
        LoopbackCeiling.grpc(ceilingBytes);
        List<Object> raw = new ArrayList<>();
        for (int rep = 1; rep <= repetitions; rep++) {
            for (LoopbackCeiling.Transfer t : List.of(LoopbackCeiling.tcp(ceilingBytes), LoopbackCeiling.grpc(ceilingBytes),
                    LoopbackCeiling.grpcBesideBusyCore(ceilingBytes))) {
                ceilings.computeIfAbsent(t.link(), k -> new ArrayList<>()).add(t);
                raw.add(t.json());
                out.printf("  %-9s #%d  %6.2f GiB/s  %5.2f CPU s/GiB%n", t.link(), rep, t.gibPerS(), t.cpuSecondsPerGib());
            }
        }
        results.put("ceilings", raw);
    }

    private void runFerry(List<BenchCase> cases, Path logs, ChildProcesses children) throws InterruptedException, IOException {
        List<BenchCase> ferryCases = cases.stream().filter(c -> c.engine() == BenchCase.Engine.FERRY).toList();
        if (ferryCases.isEmpty()) {
            return;
        }
        Path jar = repo.resolve("cli/target/ferry.jar");
        // As ./ferry runs it, with its JVM options (cli/README.md says why).
        List<String> command = List.of(javaCommand(), "@" + repo.resolve("cli/src/main/resources/dev/ferry/cli/jvm.options"),
                "-jar", jar.toString());
        Map<String, Object> ferry = new LinkedHashMap<>();
        ferry.put("command", String.join(" ", command));
        results.put("ferry", ferry);
        FerryMigration migration = new FerryMigration(command, timeout, warmup, logs, children);
        String unavailable = Files.isRegularFile(jar) ? migration.unavailableReason() : jar + " is not built";
        if (unavailable != null) {
            out.println();
            out.println("ferry migrate unavailable: " + unavailable + "; skipping the Ferry cases");
            ferry.put("unavailable", unavailable);
            for (BenchCase c : ferryCases) {
                runs.put(c.name(), List.of(MigrationRun.without(c.name(), 0, MigrationRun.Outcome.UNAVAILABLE,
                        "ferry migrate unavailable", Map.of())));
            }
            saveRuns(cases);
            return;
        }
        for (BenchCase c : ferryCases) {
            out.printf("%n%s: %s%n", c.name(), c.meaning());
            for (int rep = 1; rep <= repetitions; rep++) {
                record(c, migration.run(c, rep));
                saveRuns(cases);
            }
        }
    }

    private void runQemu(List<BenchCase> cases, Path logs, ChildProcesses children) throws InterruptedException, IOException {
        List<BenchCase> qemuCases = cases.stream().filter(c -> c.engine() == BenchCase.Engine.QEMU).toList();
        if (qemuCases.isEmpty()) {
            return;
        }
        Map<String, Object> qemuInfo = new LinkedHashMap<>();
        results.put("qemu", qemuInfo);
        Optional<Path> qemu = QemuMigration.find(qemuBinary);
        String skip = null;
        if (qemu.isEmpty()) {
            skip = "QEMU not installed: skipping the baseline";
        } else if (!Files.isRegularFile(guest)) {
            skip = "workload guest not built (" + guest + "): skipping the QEMU baseline";
        }
        if (skip != null) {
            out.println();
            out.println(skip);
            qemuInfo.put("skipped", skip);
            saveRuns(cases);
            return;
        }
        qemuInfo.put("binary", qemu.get().toString());
        qemuInfo.put("version", firstLine(qemu.get().toString(), "--version"));
        qemuInfo.put("guest", guest.toString());
        qemuInfo.put("machine", qemuMachine);
        qemuInfo.put("bios", qemuBios == null ? "default" : qemuBios.toString());
        QemuMigration migration = new QemuMigration(qemu.get(), guest, qemuMachine, qemuBios, timeout, warmup, logs, children);
        for (BenchCase c : qemuCases) {
            out.printf("%n%s: %s%n", c.name(), c.meaning());
            for (int rep = 1; rep <= repetitions; rep++) {
                record(c, migration.run(c, rep));
                qemuInfo.put("accel", new LinkedHashMap<>(migration.accelByCase()));
                qemuInfo.put("accel_notes", new LinkedHashMap<>(migration.accelNotes()));
                saveRuns(cases);
            }
        }
    }

    private void record(BenchCase c, MigrationRun run) {
        runs.computeIfAbsent(c.name(), k -> new ArrayList<>()).add(run);
        if (run.outcome() == MigrationRun.Outcome.COMPLETED) {
            out.printf("  #%d  total %s ms  downtime %s ms  blackout %s ms  rounds %s  transferred %s MiB  %s MiB/s  pre-copy %s MiB/s%n",
                    run.repetition(), figure(run.totalMs()), figure(run.downtimeMs()), figure(run.blackoutMs()),
                    run.rounds() == null ? "n/a" : run.rounds(),
                    figure(run.transferredBytes() == null ? null : run.transferredBytes() / (double) BenchCase.MIB),
                    figure(run.throughputMibPerS()), figure(run.precopyMibPerS()));
        } else {
            out.printf("  #%d  %s: %s%n", run.repetition(), run.outcome().label(), run.detail());
        }
    }

    private static String figure(Double value) {
        return value == null ? "n/a" : ResultTable.number(value);
    }

    private void saveRuns(List<BenchCase> cases) throws IOException {
        List<Object> list = new ArrayList<>();
        for (BenchCase c : cases) {
            List<MigrationRun> caseRuns = runs.get(c.name());
            if (caseRuns == null) {
                continue;
            }
            List<MigrationRun> done = ResultTable.completed(caseRuns);
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("case", c.name());
            entry.put("engine", c.engine().name().toLowerCase());
            entry.put("meaning", c.meaning());
            entry.put("memory_bytes", c.memoryBytes());
            entry.put("workload", c.engine() == BenchCase.Engine.FERRY ? c.workload().ferrySpec() : c.workload().multibootCommandLine());
            entry.put("max_downtime_ms", c.maxDowntimeMs());
            entry.put("auto_converge", c.autoConverge());
            entry.put("counterpart", c.counterpart());
            Map<String, Object> stats = new LinkedHashMap<>();
            stats.put("total_ms", Stats.of(done.stream().map(MigrationRun::totalMs).toList()).json());
            stats.put("setup_ms", Stats.of(done.stream().map(MigrationRun::setupMs).toList()).json());
            stats.put("downtime_ms", Stats.of(done.stream().map(MigrationRun::downtimeMs).toList()).json());
            stats.put("expected_downtime_ms", Stats.of(done.stream().map(MigrationRun::expectedDowntimeMs).toList()).json());
            stats.put("guest_blackout_ms", Stats.of(done.stream().map(MigrationRun::blackoutMs).toList()).json());
            stats.put("rounds", Stats.of(done.stream().map(MigrationRun::rounds).toList()).json());
            stats.put("transferred_bytes", Stats.of(done.stream().map(MigrationRun::transferredBytes).toList()).json());
            stats.put("throughput_mib_per_s", Stats.of(done.stream().map(MigrationRun::throughputMibPerS).toList()).json());
            stats.put("precopy_mib_per_s", Stats.of(done.stream().map(MigrationRun::precopyMibPerS).toList()).json());
            entry.put("completed", done.size());
            entry.put("stats", stats);
            entry.put("runs", caseRuns.stream().map(MigrationRun::json).toList());
            list.add(entry);
        }
        results.put("cases", list);
        save();
    }

    /** A panel per Ferry case with its QEMU counterpart's runs under it; QEMU cases no Ferry case names, alone. */
    private List<TimelinePlot.Panel> panels(List<BenchCase> cases) {
        List<TimelinePlot.Panel> panels = new ArrayList<>();
        List<String> drawn = new ArrayList<>();
        for (BenchCase c : cases) {
            if (c.engine() != BenchCase.Engine.FERRY || !runs.containsKey(c.name())) {
                continue;
            }
            List<TimelinePlot.Row> rows = new ArrayList<>(rows("Ferry", runs.get(c.name())));
            String title = c.name();
            if (c.counterpart() != null && runs.containsKey(c.counterpart())) {
                rows.addAll(rows("QEMU", runs.get(c.counterpart())));
                title += " vs " + c.counterpart();
                drawn.add(c.counterpart());
            }
            panels.add(new TimelinePlot.Panel(title + ": " + c.meaning(), rows));
        }
        for (BenchCase c : cases) {
            if (c.engine() == BenchCase.Engine.QEMU && runs.containsKey(c.name()) && !drawn.contains(c.name())) {
                panels.add(new TimelinePlot.Panel(c.name() + ": " + c.meaning(), rows("QEMU", runs.get(c.name()))));
            }
        }
        return panels;
    }

    private static List<TimelinePlot.Row> rows(String engine, List<MigrationRun> runs) {
        return runs.stream().map(r -> new TimelinePlot.Row(engine + " #" + r.repetition(), r)).toList();
    }

    private void save() throws IOException {
        Files.createDirectories(json.getParent());
        Files.writeString(json, Json.write(results) + "\n", StandardCharsets.UTF_8);
    }

    private static Map<String, Object> host() {
        Map<String, Object> host = new LinkedHashMap<>();
        host.put("cores", Runtime.getRuntime().availableProcessors());
        host.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        host.put("java", System.getProperty("java.runtime.version"));
        host.put("kvm", Files.exists(Path.of("/dev/kvm")));
        return host;
    }

    private static String javaCommand() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    private static String stripJson(String name) {
        return name.endsWith(".json") ? name.substring(0, name.length() - 5) : name;
    }

    private static String firstLine(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            return text.lines().findFirst().orElse("");
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }
}
