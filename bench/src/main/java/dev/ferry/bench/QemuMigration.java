package dev.ferry.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * QEMU's live migration of the same workload guest between two {@code qemu-system-x86_64} processes over
 * loopback TCP, driven over QMP like libvirt does: set parameters, {@code migrate}, poll {@code query-migrate}
 * until completed or failed, cancel on timeout. The guest's serial port goes to a unix socket per QEMU, read by
 * a {@link HeartbeatGapMeter}, so the guest blackout is measured the same way for both engines.
 */
final class QemuMigration {
    /** Large enough never to be the limit on loopback, small enough for QEMU's range checks. */
    static final long LIFTED_BANDWIDTH = 100L << 30;

    private final Path qemu;
    private final Path guest;
    private final String machine;
    private final Path bios;
    private final Duration timeout;
    private final Duration warmup;
    private final Path logs;
    private final ChildProcesses children;
    /** Per case: a guest configuration can fail under this host's KVM while another runs (an idle guest halts). */
    private final Map<String, String> accelByCase = new LinkedHashMap<>();
    private final Map<String, String> accelNotes = new LinkedHashMap<>();
    private String accel = "kvm";

    /** {@code bios} null means QEMU's default firmware (SeaBIOS). */
    QemuMigration(Path qemu, Path guest, String machine, Path bios, Duration timeout, Duration warmup, Path logs,
                  ChildProcesses children) {
        this.qemu = qemu;
        this.guest = guest;
        this.machine = machine;
        this.bios = bios;
        this.timeout = timeout;
        this.warmup = warmup;
        this.logs = logs;
        this.children = children;
    }

    static Optional<Path> find(String explicit) {
        if (explicit != null) {
            Path path = Path.of(explicit);
            return Files.isExecutable(path) ? Optional.of(path) : Optional.empty();
        }
        String pathVariable = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : pathVariable.split(":")) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, "qemu-system-x86_64");
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /**
     * qboot boots a Multiboot kernel in a fraction of a second where SeaBIOS takes about ten under this host's
     * nested KVM; the guest and its memory are the same either way.
     */
    static Path defaultBios() {
        for (String candidate : List.of("/usr/share/qemu/qboot.rom", "/usr/share/seabios/qboot.rom")) {
            if (Files.isRegularFile(Path.of(candidate))) {
                return Path.of(candidate);
            }
        }
        return null;
    }

    /** The accelerator each case ran under so far. */
    Map<String, String> accelByCase() {
        return Map.copyOf(accelByCase);
    }

    /** Per case that left KVM: why. */
    Map<String, String> accelNotes() {
        return Map.copyOf(accelNotes);
    }

    MigrationRun run(BenchCase c, int repetition) throws InterruptedException {
        accel = accelByCase.getOrDefault(c.name(), "kvm");
        accelByCase.put(c.name(), accel);
        try {
            return attempt(c, repetition);
        } catch (KvmUnusable e) {
            accel = "tcg";
            accelByCase.put(c.name(), accel);
            accelNotes.put(c.name(), e.getMessage());
            System.out.println("  QEMU: " + e.getMessage() + "; using -accel tcg for this case");
            try {
                return attempt(c, repetition);
            } catch (KvmUnusable impossible) {
                throw new IllegalStateException(impossible);
            }
        }
    }

    private MigrationRun attempt(BenchCase c, int repetition) throws InterruptedException, KvmUnusable {
        Path dir;
        try {
            dir = Files.createTempDirectory("ferry-bench-qemu-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, Object> raw = new LinkedHashMap<>();
        raw.put("accel", accel);
        raw.put("machine", machine);
        raw.put("bios", bios == null ? "default" : bios.toString());
        raw.put("guest", guest.toString());
        raw.put("guest_cmdline", c.workload().multibootCommandLine());
        int port = FreePort.pick();
        String tag = c.name() + "-" + repetition;
        Process source = null;
        Process destination = null;
        QmpClient sourceQmp = null;
        QmpClient destinationQmp = null;
        HeartbeatGapMeter sourceBeats = null;
        HeartbeatGapMeter destinationBeats = null;
        try {
            source = launch(c, dir, "src", null, logs.resolve(tag + "-qemu-source.log"));
            destination = launch(c, dir, "dst", port, logs.resolve(tag + "-qemu-destination.log"));
            try {
                sourceQmp = QmpClient.connect(dir.resolve("src.qmp"), source, Duration.ofSeconds(20));
                destinationQmp = QmpClient.connect(dir.resolve("dst.qmp"), destination, Duration.ofSeconds(20));
            } catch (IOException e) {
                if (accel.equals("kvm")) {
                    throw new KvmUnusable("QEMU did not start with -accel kvm (" + e.getMessage() + ")");
                }
                throw e;
            }
            sourceBeats = HeartbeatGapMeter.connect(dir.resolve("src.serial"), "qemu-src", Duration.ofSeconds(10));
            destinationBeats = HeartbeatGapMeter.connect(dir.resolve("dst.serial"), "qemu-dst", Duration.ofSeconds(10));
            if (accel.equals("kvm") && !(sourceQmp.executeForObject("query-kvm", Map.of()).get("enabled") instanceof Boolean on && on)) {
                throw new KvmUnusable("QEMU reports KVM not enabled");
            }
            // qboot starts the guest in well under a second; SeaBIOS takes about ten under this host's nested KVM.
            Duration boot = Duration.ofSeconds(bios != null ? 5 : 20);
            if (sourceBeats.awaitFirstAfter(0, boot) < 0 && accel.equals("kvm")) {
                throw new KvmUnusable("the guest sent no heartbeat under -accel kvm");
            }
            long warmupStart = System.nanoTime();
            boolean measuringDirtyRate = startDirtyRate(sourceQmp, raw);
            Thread.sleep(warmup.toMillis());
            Double dirtyPagesPerS = measuringDirtyRate ? dirtyPagesPerS(sourceQmp, raw) : null;
            // A guest whose timer interrupts never arrive ticks once and stops: a VM, but not the workload.
            int beats = sourceBeats.countAfter(warmupStart);
            double expected = warmup.toMillis();
            raw.put("heartbeats_in_warmup", beats);
            if (beats < expected / 4) {
                if (accel.equals("kvm")) {
                    throw new KvmUnusable("the guest's 1 kHz heartbeat ticked " + beats + " times in " + warmup.toMillis()
                            + " ms under -accel kvm (timer interrupts do not reach it)");
                }
                raw.put("note", "the guest's heartbeat ticked " + beats + " times in " + warmup.toMillis() + " ms");
            }

            Map<String, Object> parameters = new LinkedHashMap<>();
            if (c.bandwidthLifted()) {
                parameters.put("max-bandwidth", LIFTED_BANDWIDTH);
            }
            if (c.maxDowntimeMs() != null) {
                parameters.put("downtime-limit", c.maxDowntimeMs());
            }
            if (!parameters.isEmpty()) {
                sourceQmp.execute("migrate-set-parameters", parameters);
            }
            if (c.autoConverge()) {
                sourceQmp.execute("migrate-set-capabilities", Map.of("capabilities",
                        List.of(Map.of("capability", "auto-converge", "state", true))));
            }
            Map<String, Object> effective = sourceQmp.executeForObject("query-migrate-parameters", Map.of());
            raw.put("max_bandwidth", effective.get("max-bandwidth"));
            raw.put("downtime_limit_ms", effective.get("downtime-limit"));

            long start = System.nanoTime();
            sourceQmp.execute("migrate", Map.of("uri", "tcp:127.0.0.1:" + port));
            Map<String, Object> info = Map.of();
            String status = "setup";
            long deadline = start + timeout.toNanos();
            while (!status.equals("completed") && !status.equals("failed") && !status.equals("cancelled")
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
                info = sourceQmp.executeForObject("query-migrate", Map.of());
                status = String.valueOf(info.get("status"));
            }
            long end = System.nanoTime();
            raw.put("query_migrate", info);
            if (status.equals("completed")) {
                return completed(c, repetition, info, raw, start, sourceBeats, destinationBeats, dirtyPagesPerS);
            }
            if (status.equals("failed")) {
                return MigrationRun.without(c.name(), repetition, MigrationRun.Outcome.FAILED,
                        "migration failed: " + info.getOrDefault("error-desc", "no reason given"), raw);
            }
            sourceQmp.execute("migrate_cancel", Map.of());
            long cancelDeadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!status.equals("cancelled") && !status.equals("failed") && System.nanoTime() < cancelDeadline) {
                Thread.sleep(50);
                status = String.valueOf(sourceQmp.executeForObject("query-migrate", Map.of()).get("status"));
            }
            raw.put("status_after_cancel", status);
            return MigrationRun.without(c.name(), repetition, MigrationRun.Outcome.DID_NOT_CONVERGE,
                    String.format("did not converge in %d s", (end - start) / 1_000_000_000L), raw);
        } catch (IOException e) {
            return MigrationRun.without(c.name(), repetition, MigrationRun.Outcome.FAILED, e.getMessage(), raw);
        } finally {
            quit(sourceQmp);
            quit(destinationQmp);
            closeQuietly(sourceBeats);
            closeQuietly(destinationBeats);
            if (source != null) {
                children.stop(source, Duration.ofSeconds(5));
            }
            if (destination != null) {
                children.stop(destination, Duration.ofSeconds(5));
            }
            deleteTree(dir);
        }
    }

    private MigrationRun completed(BenchCase c, int repetition, Map<String, Object> info, Map<String, Object> raw,
                                   long start, HeartbeatGapMeter sourceBeats, HeartbeatGapMeter destinationBeats,
                                   Double dirtyPagesPerS) throws InterruptedException {
        Map<?, ?> ram = info.get("ram") instanceof Map<?, ?> m ? m : Map.of();
        long lastSource = sourceBeats.last();
        long firstDestination = destinationBeats.awaitFirstAfter(start, Duration.ofSeconds(3));
        Double blackout = null;
        if (lastSource >= 0 && firstDestination >= 0) {
            blackout = (firstDestination - lastSource) / 1e6;
            long largest = Math.max(sourceBeats.largestGapWithin(start, lastSource), firstDestination - lastSource);
            raw.put("largest_heartbeat_gap_ms", largest / 1e6);
        }
        return new MigrationRun(c.name(), repetition, MigrationRun.Outcome.COMPLETED, "completed",
                number(info.get("total-time")), number(info.get("setup-time")), number(info.get("downtime")),
                // QEMU recomputes expected-downtime from a dirty rate sampled once a second: in migrations this
                // short it stays at downtime-limit, which is no estimate.
                null, blackout,
                integer(ram.get("dirty-sync-count")), c.memoryBytes(), integer(ram.get("transferred")),
                integer(ram.get("precopy-bytes")), dirtyPagesPerS, raw);
    }

    /**
     * The guest's dirty rate before the migration, by QEMU's own sampling ({@code calc-dirty-rate}, one second):
     * query-migrate's {@code dirty-pages-rate} is only computed once a second and stays 0 in short migrations.
     */
    private static boolean startDirtyRate(QmpClient qmp, Map<String, Object> raw) {
        try {
            qmp.execute("calc-dirty-rate", Map.of("calc-time", 1L));
            return true;
        } catch (IOException e) {
            raw.put("calc_dirty_rate", e.getMessage());
            return false;
        }
    }

    private static Double dirtyPagesPerS(QmpClient qmp, Map<String, Object> raw) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        try {
            while (true) {
                Map<String, Object> rate = qmp.executeForObject("query-dirty-rate", Map.of());
                if ("measured".equals(rate.get("status"))) {
                    raw.put("calc_dirty_rate", rate);
                    // dirty-rate is in MiB/s of 4 KiB pages.
                    return rate.get("dirty-rate") instanceof Number n ? n.doubleValue() * 256 : null;
                }
                if (System.nanoTime() > deadline) {
                    raw.put("calc_dirty_rate", rate);
                    return null;
                }
                Thread.sleep(50);
            }
        } catch (IOException e) {
            raw.put("calc_dirty_rate", e.getMessage());
            return null;
        }
    }

    private Process launch(BenchCase c, Path dir, String side, Integer incomingPort, Path log) throws IOException {
        List<String> command = new ArrayList<>(List.of(qemu.toString(),
                "-accel", accel, "-machine", machine, "-m", (c.memoryBytes() / BenchCase.MIB) + "M",
                "-kernel", guest.toString(), "-append", c.workload().multibootCommandLine(),
                "-display", "none", "-nodefaults", "-no-user-config",
                "-chardev", "socket,id=serial0,path=" + dir.resolve(side + ".serial") + ",server=on,wait=off",
                "-serial", "chardev:serial0",
                "-qmp", "unix:" + dir.resolve(side + ".qmp") + ",server=on,wait=off"));
        if (bios != null) {
            command.add("-bios");
            command.add(bios.toString());
        }
        if (incomingPort != null) {
            if (c.preallocated()) {
                command.add("-mem-prealloc");
            }
            command.add("-incoming");
            command.add("tcp:127.0.0.1:" + incomingPort);
        }
        Files.createDirectories(log.getParent());
        return children.start(new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile()));
    }

    private static void quit(QmpClient qmp) {
        if (qmp == null) {
            return;
        }
        try {
            qmp.execute("quit", Map.of());
        } catch (IOException alreadyGone) {
            // the process is stopped below in any case
        }
        qmp.close();
    }

    private static void closeQuietly(HeartbeatGapMeter meter) throws InterruptedException {
        if (meter != null) {
            meter.close();
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException ignored) {
            // a temp dir left behind is harmless
        }
    }

    private static Double number(Object value) {
        return value instanceof Number n ? n.doubleValue() : null;
    }

    private static Long integer(Object value) {
        return value instanceof Number n ? n.longValue() : null;
    }

    /** KVM is there but QEMU cannot use it here; the run is retried with TCG. */
    private static final class KvmUnusable extends Exception {
        KvmUnusable(String message) {
            super(message);
        }
    }
}
