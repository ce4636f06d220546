package dev.ferry.cli;

import dev.ferry.proto.v1.Compression;
import dev.ferry.proto.v1.MigrateRequest;
import dev.ferry.proto.v1.MigrationReport;
import dev.ferry.proto.v1.QuitRequest;
import dev.ferry.proto.v1.StallPolicy;
import dev.ferry.proto.v1.StatusRequest;
import dev.ferry.proto.v1.VmStatus;
import dev.ferry.proto.v1.VmmControlGrpc;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code ferry demo}: two VMM processes on this host, one live migration of a running guest, one report. */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Start a source and a destination VMM on this host, migrate a running guest live, print the report.",
                "Runs the workload guest on KVM where /dev/kvm works, on the simulator otherwise."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--memory", defaultValue = "1G", converter = Sizes.ByteSizeConverter.class, paramLabel = "SIZE",
            description = "Guest RAM (default ${DEFAULT-VALUE}).")
    long memory;

    @Option(names = "--workload", defaultValue = "dirty:rate=64M,pattern=hotspot:10%,wss=256M", paramLabel = "SPEC",
            description = "What the guest does while it migrates (default ${DEFAULT-VALUE}); see `ferry vmm run --help`.")
    String workload;

    @Option(names = "--simulated", description = "Use the simulator even where /dev/kvm works.")
    boolean simulated;

    @Option(names = "--max-downtime", defaultValue = "300ms", converter = Sizes.DurationConverter.class, paramLabel = "DURATION",
            description = "As for `ferry migrate` (default ${DEFAULT-VALUE}).")
    Duration maxDowntime;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        boolean kvm = !simulated && kvmUsable();
        System.err.println(kvm
                ? "ferry demo: /dev/kvm works: the guest runs on KVM"
                : "ferry demo: " + (simulated ? "--simulated" : "/dev/kvm is not usable here") + ": the guest runs on the simulator");
        Path logs = Files.createTempDirectory("ferry-demo-");
        int sourcePort = ChildFerry.freePort();
        int destinationPort = ChildFerry.freePort();
        List<String> sourceArgs = new ArrayList<>(List.of("vmm", "run", "--name", "demo", "--memory", Long.toString(memory),
                "--workload", workload, "--control", "127.0.0.1:" + sourcePort));
        if (!kvm) {
            sourceArgs.add("--simulated");
        }
        try (ChildVmm source = ChildVmm.start(logs.resolve("source.log"), sourceArgs);
             ChildVmm destination = ChildVmm.start(logs.resolve("destination.log"),
                     List.of("vmm", "incoming", "--name", "demo", "--control", "127.0.0.1:" + destinationPort))) {
            HostPort sourceAddress = new HostPort("127.0.0.1", sourcePort);
            HostPort destinationAddress = new HostPort("127.0.0.1", destinationPort);
            awaitEndpoint(source, sourceAddress);
            awaitEndpoint(destination, destinationAddress);
            System.err.printf("ferry demo: source VMM pid %d on %s runs a %s guest (%s); destination VMM pid %d waits on %s%n",
                    source.pid(), sourceAddress, Units.bytes(memory), workload, destination.pid(), destinationAddress);
            System.err.println("ferry demo: waiting for both VMMs to rehearse a migration (a few seconds, once per VMM)");
            awaitRehearsal(source);
            awaitRehearsal(destination);
            System.err.println("ferry demo: guest before the migration: " + summary(status(sourceAddress)));

            MigrationReport report = MigrationWatch.run(sourceAddress, MigrateRequest.newBuilder()
                    .setDestination(destinationAddress.toString())
                    .setMaxDowntimeMs(maxDowntime.toMillis())
                    .setMaxRounds(30)
                    .setOnStall(StallPolicy.STALL_POLICY_AUTO_CONVERGE)
                    .setCompression(Compression.COMPRESSION_NONE)
                    .build(), !json);
            System.out.print(json ? Json.write(MigrationReportView.json(report)) + "\n" : MigrationReportView.text(report));
            boolean completed = "completed".equals(report.getStatus());
            HostPort running = completed ? destinationAddress : sourceAddress;
            Thread.sleep(1000);
            System.err.println("ferry demo: guest after the migration, on the " + (completed ? "destination" : "source")
                    + ": " + summary(status(running)));
            System.err.println("ferry demo: VMM logs in " + logs);
            quit(running);
            return completed ? 0 : 1;
        }
    }

    private static String summary(VmStatus status) {
        return String.format("%s, %d heartbeats, up %.1f s", status.getState().name().substring(9).toLowerCase(),
                status.getCountersOrDefault("heartbeats", 0), status.getUptimeMs() / 1000.0);
    }

    private static VmStatus status(HostPort address) {
        try (ControlChannel channel = new ControlChannel(address)) {
            return VmmControlGrpc.newBlockingStub(channel.channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .status(StatusRequest.getDefaultInstance());
        }
    }

    private static void quit(HostPort address) {
        try (ControlChannel channel = new ControlChannel(address)) {
            VmmControlGrpc.newBlockingStub(channel.channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .quit(QuitRequest.getDefaultInstance());
        } catch (StatusRuntimeException e) {
            // already gone
        }
    }

    private static void awaitEndpoint(ChildVmm vmm, HostPort address) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            if (!vmm.process().isAlive()) {
                throw new CliException("a demo VMM exited early:\n" + vmm.log());
            }
            try {
                status(address);
                return;
            } catch (StatusRuntimeException e) {
                if (System.nanoTime() > deadline) {
                    throw new CliException("a demo VMM never answered on " + address + ":\n" + vmm.log());
                }
                Thread.sleep(100);
            }
        }
    }

    /** Until the VMM logs the end of its start-up rehearsal, so the demo migrates a warm VMM; at most 30 s. */
    private static void awaitRehearsal(ChildVmm vmm) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            String log = vmm.log();
            if (log.contains(MigrationRehearsal.REHEARSED) || log.contains(MigrationRehearsal.NOT_REHEARSED)) {
                return;
            }
            Thread.sleep(100);
        }
    }

    private static boolean kvmUsable() {
        try (RandomAccessFile kvm = new RandomAccessFile("/dev/kvm", "rw")) {
            return true;
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    /** A VMM started as a child process on this JVM's runtime and class path. */
    private record ChildVmm(Process process, Path logFile) implements AutoCloseable {
        static ChildVmm start(Path log, List<String> args) throws IOException {
            return new ChildVmm(new ProcessBuilder(ChildFerry.command(args)).redirectErrorStream(true).redirectOutput(log.toFile()).start(), log);
        }

        long pid() {
            return process.pid();
        }

        String log() {
            try {
                return Files.readString(logFile);
            } catch (IOException e) {
                return "(no log: " + e.getMessage() + ")";
            }
        }

        @Override
        public void close() throws InterruptedException {
            if (process.isAlive()) {
                process.destroy();
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
        }
    }
}
