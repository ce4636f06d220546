package dev.ferry.source;

import dev.ferry.proto.v1.MigrationProgress;
import dev.ferry.proto.v1.MigrationReport;
import dev.ferry.proto.v1.RoundReport;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RunState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SourceMigrationTest {
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

    private MemoryVm runningSource(long workingSetPages, long writesPerMs, long... regionSizes) {
        source = new MemoryVm(MemoryVm.shape(regionSizes), workingSetPages, writesPerMs).fill(7);
        source.resume();
        return source;
    }

    @Test
    void aBusyVmArrivesPageForPageAndRunsAtTheDestination() throws Exception {
        runningSource(2048, 50, 40 * MIB, 8 * MIB);
        bench = new MigrationBench();

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults());

        print(report);

        assertEquals("completed", report.getStatus(), report.getError());
        assertEquals(RunState.PAUSED, source.runState());
        MigratableVm destination = bench.running.get();
        assertNotNull(destination);
        assertEquals(RunState.RUNNING, destination.runState());
        assertSameMemory(source, destination);
        assertTrue(bench.discarded.isEmpty(), bench.discarded.toString());

        long pages = source.shape().pageCount();
        assertTrue(report.getRounds() >= 2, "at least one pre-copy round and the final one");
        assertEquals(report.getRounds(), report.getRoundReportsCount());
        assertEquals(pages, report.getRoundReports(0).getPages(), "round 1 sends every page");
        assertTrue(report.getZeroPages() >= (pages - 2048) / 4, "the untouched zero pages: " + report.getZeroPages());
        assertEquals(pages, report.getRoundReportsList().stream().mapToLong(r -> r.getPages()).sum() - 0
                - (report.getRoundReportsList().stream().skip(1).mapToLong(r -> r.getPages()).sum()));
        assertTrue(report.getDowntimeMs() > 0 && report.getDowntimeMs() < 5_000, "downtime " + report.getDowntimeMs());
        assertTrue(report.hasGuestBlackoutMs(), "the guest beats, so its blackout is measured");
        assertTrue(report.getGuestBlackoutMs() >= report.getDowntimeMs() - 2, "blackout " + report.getGuestBlackoutMs()
                + " vs downtime " + report.getDowntimeMs());
        assertTrue(report.getSetupMs() > 0 && report.getTotalMs() >= report.getSetupMs());
        assertTrue(report.getTransferredBytes() > 0 && report.getThroughputMbps() > 0);
        assertTrue(report.getExpectedDowntimeMs() <= 300, "switched over within the max downtime estimate");
        assertFalse(report.hasError());
        MigrationProgress last = bench.migration(source, MigrationParameters.defaults()).progress();
        assertEquals("setup", last.getPhase(), "a fresh migration has not started");
        assertEquals(1.0, bench.registry.get("ferry.migration.downtime").timer().count());
    }

    @Test
    void aVmWhosePagesDoNotFillWholeBitmapWordsArrives() throws Exception {
        // 259 + 67 pages: round 1's BackingHint ends inside a word and must name no page beyond the last.
        runningSource(64, 5, 259 * 4096L, 67 * 4096L);
        bench = new MigrationBench();

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults());

        assertEquals("completed", report.getStatus(), report.getError());
        assertSameMemory(source, bench.running.get());
    }

    @Test
    void verifyAndLz4PassOnAnHonestLink() throws Exception {
        runningSource(1024, 20, 32 * MIB);
        bench = new MigrationBench();

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults()
                .withVerify(true).withCompression(MigrationParameters.PageCompression.LZ4));

        print(report);

        assertEquals("completed", report.getStatus(), report.getError());
        assertTrue(report.getVerified());
        assertTrue(report.getCompressedPages() > 0, "the constant pages compress");
        assertSameMemory(source, bench.running.get());
    }

    @Test
    void cancelMidFlightKeepsTheSourceRunning() throws Exception {
        runningSource(1024, 20, 64 * MIB);
        bench = new MigrationBench();
        SourceMigration migration = bench.migration(source, MigrationParameters.defaults().withBandwidth(40 * MIB));
        CompletableFuture<MigrationReport> result = CompletableFuture.supplyAsync(migration::run);
        await().atMost(Duration.ofSeconds(10)).until(() -> migration.progress().getTransferredBytes() > 4 * MIB);

        migration.cancel("operator changed their mind");
        MigrationReport report = result.get(10, TimeUnit.SECONDS);
        print(report);

        assertEquals("cancelled", report.getStatus());
        assertTrue(report.getError().contains("operator changed their mind"), report.getError());
        assertEquals(RunState.RUNNING, source.runState());
        await().atMost(Duration.ofSeconds(5)).until(() -> !bench.discarded.isEmpty());
        assertTrue(bench.discarded.getFirst().contains("operator changed their mind"), bench.discarded.toString());
        assertEquals(null, bench.running.get());
        assertEquals("cancelled", migration.progress().getPhase());
    }

    @Test
    void aDestinationThatDiesMidPrecopyLeavesTheSourceRunning() throws Exception {
        runningSource(1024, 20, 64 * MIB);
        bench = new MigrationBench();
        SourceMigration migration = bench.migration(source, MigrationParameters.defaults().withBandwidth(40 * MIB));
        CompletableFuture<MigrationReport> result = CompletableFuture.supplyAsync(migration::run);
        await().atMost(Duration.ofSeconds(10)).until(() -> migration.progress().getTransferredBytes() > 4 * MIB);

        bench.server.shutdownNow();
        MigrationReport report = result.get(10, TimeUnit.SECONDS);
        print(report);

        assertEquals("failed", report.getStatus());
        assertTrue(report.getError().contains("destination"), report.getError());
        assertEquals(RunState.RUNNING, source.runState());
        assertEquals(null, bench.running.get());
    }

    @Test
    void aWorkloadThatOutrunsTheLinkFailsAfterMaxRoundsWithTheSourceRunning() throws Exception {
        // Capped, so that no host is fast enough to outrun the writer (see aStallFailsWhenToldTo).
        runningSource(8192, 400, 48 * MIB);
        bench = new MigrationBench();

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults().withBandwidth(100 * MIB)
                .withMaxDowntime(Duration.ofMillis(5)).withMaxRounds(4));

        print(report);

        assertEquals("failed", report.getStatus());
        assertTrue(report.getError().contains("did not converge in 4 rounds"), report.getError());
        assertTrue(report.getError().endsWith("--on-stall auto-converge would throttle the guest until it fits"),
                report.getError());
        assertEquals(4, report.getRounds());
        assertEquals(RunState.RUNNING, source.runState());
        await().atMost(Duration.ofSeconds(5)).until(() -> !bench.discarded.isEmpty());
        assertEquals(null, bench.running.get());
    }

    @Test
    void autoConvergeThrottlesTheSameWorkloadUntilItFits() throws Exception {
        runningSource(16384, 400, 64 * MIB);
        bench = new MigrationBench();

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults().withBandwidth(200 * MIB)
                .withMaxDowntime(Duration.ofMillis(20)).withMaxRounds(20).withAutoConverge(true));

        print(report);

        assertEquals("completed", report.getStatus(), report.getError());
        assertTrue(report.getMaxThrottlePercent() >= 20, "throttle " + report.getMaxThrottlePercent());
        assertEquals(0, source.throttlePercent(), "the throttle is removed when the migration ends");
        assertSameMemory(source, bench.running.get());
    }

    @Test
    void aSwitchoverThatCannotFitFailsAtOnce() throws Exception {
        runningSource(1, 0, 32 * MIB);
        bench = new MigrationBench();

        // Pausing, saving, loading and a round trip take longer than a nanosecond on any machine.
        MigrationReport report = bench.migrate(source, MigrationParameters.defaults()
                .withMaxDowntime(Duration.ofNanos(1)));
        print(report);

        assertEquals("failed", report.getStatus());
        assertTrue(report.getError().startsWith("the switchover alone exceeds the max downtime"), report.getError());
        assertTrue(report.getRounds() <= 2, "rounds " + report.getRounds());
        assertEquals(RunState.RUNNING, source.runState());
    }

    @Test
    void aRoundTripInflatedDuringSetupIsMeasuredAgainBeforeItPricesTheSwitchoverOut() throws Exception {
        runningSource(1, 0, 32 * MIB);
        bench = new MigrationBench(new SlowSetupAnswers(20));

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults()
                .withMaxDowntime(Duration.ofMillis(10)));
        print(report);

        // Both setup samples say 20 ms or more; a switchover that waited for a round trip that long could not fit.
        assertEquals("completed", report.getStatus(), report.getError());
        assertSameMemory(source, bench.running.get());
    }

    @Test
    void aPauseSlowedDuringSetupIsMeasuredAgainBeforeItPricesTheSwitchoverOut() throws Exception {
        // The setup's probe pause takes 30 ms, as a pause can on a busy host; later ones take what they take.
        runningSource(1, 0, 32 * MIB).withSlowPauses(1, Duration.ofMillis(30));
        bench = new MigrationBench();

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults()
                .withMaxDowntime(Duration.ofMillis(10)));
        print(report);

        // Priced at the setup's sample, the switchover alone would exceed the limit and the migration would fail.
        assertEquals("completed", report.getStatus(), report.getError());
        assertTrue(report.getDowntimeMs() < 30, "downtime " + report.getDowntimeMs());
        assertSameMemory(source, bench.running.get());
    }

    @Test
    void aStallFailsWhenToldTo() throws Exception {
        // Capped rounds last as long as the cap makes them, however fast this host is, so every round finds about
        // as many pages dirty as the last: 32 MiB written at random, 400 pages a ms; even if the writer gets a
        // tenth of that, a third of a second leaves thousands of pages, milliseconds at any bandwidth, over 5 ms.
        runningSource(8192, 400, 48 * MIB);
        bench = new MigrationBench();

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults().withBandwidth(100 * MIB)
                .withMaxDowntime(Duration.ofMillis(5)).withOnStall(MigrationParameters.OnStall.FAIL));
        print(report);

        assertEquals("failed", report.getStatus());
        assertTrue(report.getError().startsWith("stalled"), report.getError());
        assertTrue(report.getStalled());
        assertTrue(report.getRounds() < MigrationParameters.DEFAULT_MAX_ROUNDS / 2, "rounds " + report.getRounds());
        assertEquals(RunState.RUNNING, source.runState());
    }

    @Test
    void aStallTurnsOnAutoConvergeWhenToldTo() throws Exception {
        // Capped, so that every round finds the whole working set dirty again, and 64 MiB take longer than the
        // 20 ms allowed at any bandwidth this test may see once paused. From 90 % throttle on, the writer dirties
        // 40 pages a ms, fewer than the 51 the cap sends.
        runningSource(16384, 400, 64 * MIB);
        bench = new MigrationBench();

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults().withBandwidth(200 * MIB)
                .withMaxRounds(25).withMaxDowntime(Duration.ofMillis(20))
                .withOnStall(MigrationParameters.OnStall.AUTO_CONVERGE));
        print(report);

        assertEquals("completed", report.getStatus(), report.getError());
        assertTrue(report.getStalled());
        assertTrue(report.getMaxThrottlePercent() >= 20);
        assertSameMemory(source, bench.running.get());
    }

    @Test
    void theBandwidthCapHoldsDuringPrecopy() throws Exception {
        runningSource(16, 1, 16 * MIB);
        bench = new MigrationBench();
        long cap = 32 * MIB;

        MigrationReport report = bench.migrate(source, MigrationParameters.defaults().withBandwidth(cap));
        print(report);

        assertEquals("completed", report.getStatus(), report.getError());
        RoundReport first = report.getRoundReports(0);
        // The bucket holds at most 1 MiB of credit, and the first BURST_BYTES go uncapped to measure the link;
        // every byte beyond those waits for the cap.
        double floorMs = (first.getBytes() - MIB - SourceMigration.BURST_BYTES) * 1e3 / cap;
        assertTrue(first.getDurationMs() >= floorMs * 0.95, first.getDurationMs() + " ms < " + floorMs + " ms");
        assertSameMemory(source, bench.running.get());
    }

    @Test
    void progressNeverRunsBackwards() throws Exception {
        runningSource(4096, 100, 48 * MIB);
        bench = new MigrationBench();
        SourceMigration migration = bench.migration(source, MigrationParameters.defaults().withBandwidth(200 * MIB));
        CompletableFuture<MigrationReport> result = CompletableFuture.supplyAsync(migration::run);
        java.util.List<MigrationProgress> seen = new java.util.ArrayList<>();
        while (!result.isDone()) {
            seen.add(migration.progress());
            Thread.sleep(2);
        }
        MigrationReport report = result.get();
        print(report);
        assertEquals("completed", report.getStatus(), report.getError());
        assertTrue(seen.size() > 10, "sampled " + seen.size() + " times");
        for (int i = 1; i < seen.size(); i++) {
            MigrationProgress before = seen.get(i - 1);
            MigrationProgress after = seen.get(i);
            assertTrue(after.getPercent() >= before.getPercent(), before.getPercent() + " -> " + after.getPercent());
            if (before.getEtaMs() >= 0) {
                assertTrue(after.getEtaMs() <= before.getEtaMs(), before.getEtaMs() + " -> " + after.getEtaMs());
            }
        }
        assertTrue(seen.stream().anyMatch(p -> p.getEtaMs() > 0), "an ETA was shown");
        MigrationProgress last = migration.progress();
        assertEquals("completed", last.getPhase());
        assertEquals(100.0, last.getPercent());
        assertEquals(report, last.getReport());
    }

    static void print(MigrationReport report) {
        String test = StackWalker.getInstance().walk(frames -> frames.skip(1).findFirst().orElseThrow()).getMethodName();
        System.out.println(test + ": " + report.toString().replace('\n', ' '));
    }

    static void assertSameMemory(MigratableVm expected, MigratableVm actual) {
        assertNotNull(actual, "no destination VM");
        assertEquals(expected.ram().size(), actual.ram().size());
        for (int r = 0; r < expected.ram().size(); r++) {
            GuestRam want = expected.ram().get(r);
            GuestRam got = actual.ram().get(r);
            assertEquals(want.region(), got.region());
            for (long p = 0; p < want.region().pages(); p++) {
                long page = want.firstPage() + p;
                long mismatch = want.page(page).mismatch(got.page(page));
                if (mismatch != -1) {
                    throw new AssertionError("page " + page + " differs at byte " + mismatch);
                }
            }
        }
    }
}
