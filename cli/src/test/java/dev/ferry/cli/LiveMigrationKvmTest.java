package dev.ferry.cli;

import com.google.protobuf.ByteString;
import dev.ferry.proto.v1.DestinationFrame;
import dev.ferry.proto.v1.Hello;
import dev.ferry.proto.v1.MigrationGrpc;
import dev.ferry.proto.v1.ProtocolVersion;
import dev.ferry.proto.v1.SourceFrame;
import dev.ferry.proto.v1.StatusRequest;
import dev.ferry.proto.v1.VmState;
import dev.ferry.proto.v1.VmStatus;
import dev.ferry.proto.v1.VmmControlGrpc;
import dev.ferry.proto.v1.DumpMemoryRequest;
import dev.ferry.proto.v1.MemoryChunk;
import dev.ferry.vmm.testing.RequiresKvm;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Live migration between two real VMM processes on the real /dev/kvm, driven through the {@code ferry} CLI
 * exactly as an operator would: {@code ferry vmm run}, {@code ferry vmm incoming}, {@code ferry migrate}.
 */
@RequiresKvm
class LiveMigrationKvmTest {
    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration MIGRATION = Duration.ofSeconds(180);
    /** A guest that rewrites 128 MiB at random as fast as its vCPU can. */
    private static final String FAST_WRITER = "dirty:rate=max,pattern=uniform,wss=128M";
    /**
     * Capping pre-copy below the guest's dirty rate keeps its whole working set dirty every round, and a
     * 30 ms limit is below what 128 MiB takes even over the uncapped link of the final phase (about 120 ms here;
     * 200 ms once was, until the destination's transport got faster).
     */
    private static final String[] OUTRUN_LINK = {"--bandwidth", "64M", "--max-downtime", "30ms"};

    @TempDir
    Path work;

    private final List<FerryProcess> processes = new ArrayList<>();

    @AfterEach
    void stopEverything() throws InterruptedException {
        for (FerryProcess process : processes) {
            process.close();
        }
    }

    @Test
    void aDirtyingGuestMigratesWithItsMemoryVerifiedAndKeepsBeating() throws Exception {
        Vmm source = runWorkload("dirty:rate=16M,pattern=sequential,wss=64M", "1G");
        Vmm destination = incoming();
        Thread.sleep(500);

        Report report = migrate(source, destination, "--verify", "--keep-source");

        assertEquals("completed", report.status(), report.text());
        assertTrue(report.number("downtime_ms") > 0, report.text());
        assertTrue(report.number("rounds") >= 2, report.text());
        assertTrue(report.text().contains("\"verified\": true"), report.text());
        assertTrue(report.number("guest_blackout_ms") > 0, "a heartbeating guest has a blackout figure: " + report.text());

        VmStatus arrived = destination.status();
        assertEquals(VmState.VM_STATE_RUNNING, arrived.getState());
        assertEquals("kvm", arrived.getKind());
        assertEquals(1L << 30, arrived.getMemoryBytes());
        VmStatus released = source.status();
        assertEquals(VmState.VM_STATE_PAUSED, released.getState(), "the source copy stays paused");

        long before = destination.status().getCountersOrThrow("heartbeats");
        Thread.sleep(1000);
        long after = destination.status().getCountersOrThrow("heartbeats");
        assertTrue(after - before > 200, "the guest's timer keeps firing on the destination: " + (after - before) + " heartbeats in 1 s");

        // The kernel's code does not change while it runs: the destination must hold the same bytes.
        assertArrayEquals(source.dump(0x100000, 0x2000), destination.dump(0x100000, 0x2000));
        Report resume = Report.of(FerryProcess.run(work, Duration.ofSeconds(30), "vmm", "resume", "--control", source.address()));
        assertTrue(resume.text().contains("runs there now"), "the released source must refuse to resume: " + resume.text());
    }

    @Test
    void theSourceProcessEndsAfterASuccessfulMigration() throws Exception {
        Vmm source = runWorkload("dirty:rate=0,wss=0", "256M");
        Vmm destination = incoming();

        Report report = migrate(source, destination);

        assertEquals("completed", report.status(), report.text());
        assertTrue(source.process().awaitExit(Duration.ofSeconds(20)), "the source VMM exits once its VM runs elsewhere");
        assertEquals(0, source.process().exitCode(), source.process().output());
        assertEquals(VmState.VM_STATE_RUNNING, destination.status().getState());
    }

    @Test
    void aDestinationStartedWithPreallocReceivesIntoMemoryItBackedBefore() throws Exception {
        Vmm source = runWorkload("dirty:rate=16M,pattern=sequential,wss=64M", "256M");
        Vmm destination = incoming("--prealloc", "256M");

        Report report = migrate(source, destination, "--verify");

        assertEquals("completed", report.status(), report.text());
        assertTrue(report.text().contains("\"verified\": true"), report.text());
        String log = destination.process().output();
        assertTrue(log.contains("preallocated 256.0 MiB of guest memory"), log);
        assertTrue(log.contains("the arriving VM's 256.0 MiB of RAM are the preallocated memory"), log);
        assertEquals(VmState.VM_STATE_RUNNING, destination.status().getState());
    }

    @Test
    void aGuestThatOutrunsTheLinkFailsWithoutAutoConvergeAndKeepsRunning() throws Exception {
        Vmm source = runWorkload(FAST_WRITER, "512M");
        Vmm destination = incoming();

        Report report = migrate(source, destination, concat(OUTRUN_LINK, "--max-rounds", "5"));

        assertEquals("failed", report.status(), report.text());
        assertEquals(1, report.exitCode());
        assertEquals(VmState.VM_STATE_RUNNING, source.status().getState(), "the source keeps running");
        assertEquals(VmState.VM_STATE_WAITING_FOR_MIGRATION, destination.status().getState(), "the destination discarded its VM");
    }

    @Test
    void autoConvergeThrottlesTheSameGuestUntilItConverges() throws Exception {
        Vmm source = runWorkload(FAST_WRITER, "512M");
        Vmm destination = incoming();

        Report report = migrate(source, destination, concat(OUTRUN_LINK, "--auto-converge", "--max-rounds", "40"));

        assertEquals("completed", report.status(), report.text());
        assertTrue(report.number("max_throttle_percent") > 0, report.text());
        assertEquals(VmState.VM_STATE_RUNNING, destination.status().getState());
    }

    @Test
    void cancelMidFlightLeavesTheSourceRunning() throws Exception {
        Vmm source = runWorkload(FAST_WRITER, "512M");
        Vmm destination = incoming();
        CompletableFuture<Report> migration = CompletableFuture.supplyAsync(() ->
                migrateUnchecked(source, destination, concat(OUTRUN_LINK, "--max-rounds", "1000")));
        awaitMigrationPhase(source, "precopy");

        FerryProcess cancel = FerryProcess.run(work, Duration.ofSeconds(30), "cancel", "--control", source.address());
        assertEquals(0, cancel.exitCode(), cancel.output());

        Report report = migration.get(2, TimeUnit.MINUTES);
        assertEquals("cancelled", report.status(), report.text());
        assertEquals(VmState.VM_STATE_RUNNING, source.status().getState());
        awaitState(destination, VmState.VM_STATE_WAITING_FOR_MIGRATION);
    }

    @Test
    void killingTheDestinationMidPrecopyLeavesTheSourceBeating() throws Exception {
        Vmm source = runWorkload(FAST_WRITER, "512M");
        Vmm destination = incoming();
        CompletableFuture<Report> migration = CompletableFuture.supplyAsync(() ->
                migrateUnchecked(source, destination, concat(OUTRUN_LINK, "--max-rounds", "1000")));
        awaitMigrationPhase(source, "precopy");

        destination.process().kill();
        Report report = migration.get(2, TimeUnit.MINUTES);

        assertEquals("failed", report.status(), report.text());
        assertEquals(VmState.VM_STATE_RUNNING, source.status().getState());
        long before = source.status().getCountersOrThrow("heartbeats");
        Thread.sleep(1000);
        long after = source.status().getCountersOrThrow("heartbeats");
        assertTrue(after - before > 200, "the source guest keeps beating: " + (after - before) + " heartbeats in 1 s");
    }

    @Test
    void aMalformedStreamIsRefusedAndHarmsNeitherVm() throws Exception {
        Vmm destination = incoming();
        try (ControlChannel channel = new ControlChannel(new HostPort("127.0.0.1", destination.port()))) {
            List<DestinationFrame> answers = new ArrayList<>();
            CompletableFuture<Throwable> ended = new CompletableFuture<>();
            StreamObserver<SourceFrame> stream = MigrationGrpc.newStub(channel.channel()).transfer(new StreamObserver<>() {
                @Override
                public void onNext(DestinationFrame frame) {
                    answers.add(frame);
                }

                @Override
                public void onError(Throwable t) {
                    ended.complete(t);
                }

                @Override
                public void onCompleted() {
                    ended.complete(null);
                }
            });
            stream.onNext(SourceFrame.newBuilder().setHello(Hello.newBuilder()
                    .setProtocolVersion(ProtocolVersion.PROTOCOL_VERSION_UNSPECIFIED)
                    .setSessionId("malformed")).build());
            ended.get(30, TimeUnit.SECONDS);
            assertFalse(answers.isEmpty(), "the destination answers with a reason");
            String answer = answers.getLast().toString();
            assertTrue(answer.toLowerCase().contains("version"), answer);
        }
        assertEquals(VmState.VM_STATE_WAITING_FOR_MIGRATION, destination.status().getState(), "still waiting, unharmed");
    }

    // ---- the processes ----

    private Vmm runWorkload(String workload, String memory) throws InterruptedException {
        int port = FerryProcess.freePort();
        FerryProcess process = FerryProcess.start(work, "vmm", "run", "--name", "source", "--memory", memory,
                "--workload", workload, "--control", "127.0.0.1:" + port);
        processes.add(process);
        Vmm vmm = new Vmm(process, port);
        process.awaitControl(port, START);
        awaitState(vmm, VmState.VM_STATE_RUNNING);
        return vmm;
    }

    private Vmm incoming(String... options) throws InterruptedException {
        int port = FerryProcess.freePort();
        FerryProcess process = FerryProcess.start(work, concat(new String[] {"vmm", "incoming", "--name", "destination",
                "--control", "127.0.0.1:" + port}, options));
        processes.add(process);
        process.awaitControl(port, START);
        return new Vmm(process, port);
    }

    private Report migrate(Vmm source, Vmm destination, String... options) throws InterruptedException {
        List<String> args = new ArrayList<>(List.of("migrate", "--source", source.address(), "--dest", destination.address(), "--json"));
        args.addAll(List.of(options));
        return Report.of(FerryProcess.run(work, MIGRATION, args.toArray(String[]::new)));
    }

    private Report migrateUnchecked(Vmm source, Vmm destination, String... options) {
        try {
            return migrate(source, destination, options);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String[] concat(String[] first, String... more) {
        List<String> all = new ArrayList<>(List.of(first));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    private static void awaitMigrationPhase(Vmm source, String phase) throws InterruptedException {
        long deadline = System.nanoTime() + START.toNanos();
        while (!source.status().getMigrationPhase().equals(phase)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the migration never reached " + phase + ": " + source.status());
            }
            Thread.sleep(50);
        }
        Thread.sleep(300);
    }

    private static void awaitState(Vmm vmm, VmState state) throws InterruptedException {
        long deadline = System.nanoTime() + START.toNanos();
        while (vmm.status().getState() != state) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never reached " + state + ": " + vmm.status());
            }
            Thread.sleep(50);
        }
    }

    private record Vmm(FerryProcess process, int port) {
        String address() {
            return "127.0.0.1:" + port;
        }

        VmStatus status() {
            try (ControlChannel channel = new ControlChannel(new HostPort("127.0.0.1", port))) {
                return VmmControlGrpc.newBlockingStub(channel.channel()).withDeadlineAfter(20, TimeUnit.SECONDS)
                        .status(StatusRequest.getDefaultInstance());
            }
        }

        byte[] dump(long offset, long length) {
            try (ControlChannel channel = new ControlChannel(new HostPort("127.0.0.1", port))) {
                ByteString.Output out = ByteString.newOutput();
                Iterator<MemoryChunk> chunks = VmmControlGrpc.newBlockingStub(channel.channel())
                        .dumpMemory(DumpMemoryRequest.newBuilder().setOffset(offset).setLength(length).build());
                chunks.forEachRemaining(chunk -> out.write(chunk.getData().toByteArray(), 0, chunk.getData().size()));
                return out.toByteString().toByteArray();
            }
        }
    }

    /** What a {@code ferry} command printed, with the JSON report's fields where it printed one. */
    private record Report(String text, int exitCode) {
        static Report of(FerryProcess command) {
            return new Report(command.output(), command.exitCode());
        }

        String status() {
            Matcher m = Pattern.compile("\"status\": \"(\\w+)\"").matcher(text);
            return m.find() ? m.group(1) : "no report";
        }

        double number(String key) {
            Matcher m = Pattern.compile("\"" + key + "\": ([-0-9.eE]+|null|true|false)").matcher(text);
            if (!m.find()) {
                throw new AssertionError("no " + key + " in: " + text);
            }
            return switch (m.group(1)) {
                case "null", "false" -> Double.NaN;
                case "true" -> 1;
                default -> Double.parseDouble(m.group(1));
            };
        }
    }

}
