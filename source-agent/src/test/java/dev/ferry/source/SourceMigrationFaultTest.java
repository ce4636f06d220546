package dev.ferry.source;

import dev.ferry.proto.v1.MigrationReport;
import dev.ferry.vm.RunState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Faults between the agents end the migration with the source running and no VM at the destination. */
class SourceMigrationFaultTest {
    private static final long MIB = 1 << 20;

    private MemoryVm source;
    private MigrationBench bench;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (bench != null) {
            bench.close();
        }
        if (source != null) {
            source.close();
        }
    }

    private void runningSource() {
        source = new MemoryVm(MemoryVm.shape(16 * MIB), 512, 10).fill(11);
        source.resume();
    }

    private void assertRolledBack(MigrationReport report, String reason) {
        SourceMigrationTest.print(report);
        assertEquals("failed", report.getStatus());
        assertTrue(report.getError().contains(reason), report.getError());
        assertEquals(RunState.RUNNING, source.runState(), "the source resumes");
        assertNull(bench.running.get(), "nothing runs at the destination");
        await().atMost(Duration.ofSeconds(5)).until(() -> !bench.discarded.isEmpty());
        assertFalse(bench.receiver.busy());
    }

    @Test
    void aByteFlippedInFlightFailsTheChecksumAndTheSourceResumes() throws Exception {
        runningSource();
        PageCorruptor corruptor = new PageCorruptor(3, false);
        bench = new MigrationBench(corruptor);

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults());

        assertTrue(corruptor.struck.get());
        assertRolledBack(report, "CRC32C mismatch");
        assertTrue(bench.discarded.getFirst().contains("CRC32C mismatch"), bench.discarded.toString());
    }

    @Test
    void aCorruptionTheChecksumMissesIsCaughtByVerify() throws Exception {
        runningSource();
        PageCorruptor corruptor = new PageCorruptor(3, true);
        bench = new MigrationBench(corruptor);

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults().withVerify(true));

        assertTrue(corruptor.struck.get());
        assertRolledBack(report, "differs from the source's at the stop instant");
        assertFalse(report.getVerified());
    }

    @Test
    void anUnknownProtocolVersionIsRefusedAndBothSidesSayWhy() throws Exception {
        runningSource();
        bench = new MigrationBench();

        MigrationReport report = new SourceMigration(source, bench.channel, MigrationParameters.defaults(),
                bench.registry, 2).run();

        assertRolledBack(report, "protocol version 2 offered, this destination speaks 1..1");
        assertTrue(bench.discarded.getFirst().contains("protocol version 2"), bench.discarded.toString());
        assertEquals(0, report.getRounds());
    }

    @Test
    void aShapeTheDestinationCannotBuildIsRefusedWithTheFactorysReason() throws Exception {
        runningSource();
        bench = new MigrationBench(shape -> {
            throw new IllegalArgumentException("this host has 8 MiB free, the VM needs " + shape.ramBytes() + " bytes");
        });

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults());

        assertRolledBack(report, "this host has 8 MiB free, the VM needs 16777216 bytes");
    }

    @Test
    void aDestinationThatIsNotThereFailsFast() throws Exception {
        runningSource();
        bench = new MigrationBench();
        bench.server.shutdownNow().awaitTermination();

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults());

        assertEquals("failed", report.getStatus());
        assertTrue(report.getError().contains("cannot connect to the destination"), report.getError());
        assertEquals(RunState.RUNNING, source.runState());
    }

    @Test
    void aLinkLostAfterCommitLeavesTheSourcePausedAndTheSwitchoverInDoubt() throws Exception {
        runningSource();
        bench = new MigrationBench(new LinkCutAtCommit());

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults());

        SourceMigrationTest.print(report);
        assertEquals("failed", report.getStatus());
        assertTrue(report.getError().startsWith("switchover in doubt"), report.getError());
        assertEquals(RunState.PAUSED, source.runState(), "never resume when the destination may be running");
    }

    @Test
    void aTimeoutCancelsWithTheSourceRunning() throws Exception {
        source = new MemoryVm(MemoryVm.shape(64 * MIB), 512, 10).fill(11);
        source.resume();
        bench = new MigrationBench();

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults()
                .withBandwidth(20 * MIB).withTimeout(Duration.ofMillis(300)));

        assertEquals("cancelled", report.getStatus());
        assertTrue(report.getError().contains("timed out after 300 ms"), report.getError());
        assertEquals(RunState.RUNNING, source.runState());
    }
}
