package dev.ferry.source;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.dirty.DirtyTracker;
import dev.ferry.proto.v1.BackingHint;
import dev.ferry.proto.v1.Capability;
import dev.ferry.proto.v1.Commit;
import dev.ferry.proto.v1.DestinationFrame;
import dev.ferry.proto.v1.Digests;
import dev.ferry.proto.v1.FinalState;
import dev.ferry.proto.v1.FirstHeartbeat;
import dev.ferry.proto.v1.Hello;
import dev.ferry.proto.v1.HeartbeatOutcome;
import dev.ferry.proto.v1.MigrationProgress;
import dev.ferry.proto.v1.MigrationReport;
import dev.ferry.proto.v1.PageBatch;
import dev.ferry.proto.v1.Prepared;
import dev.ferry.proto.v1.ProbeLoaded;
import dev.ferry.proto.v1.RamRegionSpec;
import dev.ferry.proto.v1.RoundEnd;
import dev.ferry.proto.v1.RoundReport;
import dev.ferry.proto.v1.SourceFrame;
import dev.ferry.proto.v1.StateProbe;
import dev.ferry.proto.v1.VerifyOutcome;
import dev.ferry.proto.v1.VmShapeSpec;
import dev.ferry.proto.v1.Welcome;
import dev.ferry.proto.v1.ProtocolVersion;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RamRegion;
import dev.ferry.vm.RunState;
import dev.ferry.vm.VmShape;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.micrometer.core.instrument.MeterRegistry;

import com.google.protobuf.UnsafeByteOperations;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Live pre-copy migration of one VM to one destination: handshake, a switchover probe, pre-copy rounds
 * until the expected downtime fits, stop-and-copy, commit. {@link #run()} drives it on the caller's
 * thread; {@link #progress()} and {@link #cancel} may be called from any thread.
 *
 * <p>Whatever happens before Commit is sent, the source VM ends as it started (running) and the
 * destination discards its copy. After Running arrives the source VM stays paused and is no longer the
 * guest's authority. If the link breaks between the two, the source cannot know whether the destination
 * resumed: it stays paused and the report says "switchover in doubt".
 */
public final class SourceMigration {
    private static final double CONVERGENCE_MARGIN = 0.85;
    private static final Logger LOG = Logger.getLogger(SourceMigration.class.getName());
    private static final int PAGE = MigratableVm.PAGE_SIZE;
    /** Pages rearmed at once, just before reading them: 1 MiB, one batch. */
    private static final int REARM_CHUNK = PageBatchEncoder.MAX_PAGES;
    /** Rounds without the dirty set shrinking before the migration counts as stalled. */
    static final int STALL_ROUNDS = 3;
    /** Fresh samples of the switchover's fixed costs a migration may take when they decide whether it may switch. */
    private static final int MAX_SWITCHOVER_RESAMPLES = 3;
    /** How often connecting looks for a cancel or the timeout between the channel's state changes. */
    private static final long CONNECT_CHECK_MS = 20;
    private static final double SHRINK_FACTOR = 0.95;
    private static final long STAGE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** How long to wait after Running for the destination's report of the guest's first heartbeat. */
    private static final long HEARTBEAT_REPORT_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(600);
    private static final int DIGESTS_PER_FRAME = 262_144;
    /** Bitmap words per BackingHint frame: 4 MiB of bitmap, the protocol's limit. */
    private static final int HINT_WORDS_PER_FRAME = (4 << 20) / 8;
    private static final int AUTO_CONVERGE_START = 20;
    private static final int AUTO_CONVERGE_STEP = 10;
    private static final int AUTO_CONVERGE_MAX = 99;
    /**
     * Under a cap, pre-copy sends this much uncapped first and times it end to end (see {@link #timeBurst}): a
     * burst like the one QEMU's rate limiter allows within each of its 100 ms windows.
     */
    static final long BURST_BYTES = 8L << 20;

    private final MigratableVm vm;
    private final ManagedChannel channel;
    private final MigrationParameters params;
    private final MeterRegistry registry;
    private MigrationMetrics metrics;
    private final int protocolVersion;
    private final String sessionId = UUID.randomUUID().toString();
    private final ProgressBoard board;
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile String cancelReason;
    private volatile boolean commitSent;

    // Engine-thread state.
    private final DestinationLink link = new DestinationLink();
    private final BandwidthEstimate bandwidth = new BandwidthEstimate(SourceTransport.FLOW_CONTROL_WINDOW);
    private PausedSpeedup pausedSpeedup;
    private final List<RoundReport> roundReports = new ArrayList<>();
    private PageBatchEncoder encoder;
    private TokenBucket cap;
    private long acceptedNanos;
    private long deadlineNanos;
    private long sequence = 1;
    private long transferredBytes;
    private long sendNanos;
    private long clockOffsetNanos;
    private long roundTripNanos;
    private int switchoverResamples;
    private long probePauseSaveNanos;
    private long probeSentNanos;
    private long probeLoadNanos;
    private long stateBytes;
    private byte[] probeState;
    private boolean burstPending;
    private long verifyCostNanos;
    private final Map<String, Double> downtimeBreakdown = new LinkedHashMap<>();
    private final Map<String, Double> setupBreakdown = new LinkedHashMap<>();
    private double bytesPerPage = PAGE;
    private double dirtyRate;
    private double expectedDowntimeMs = Double.NaN;
    private long knownZeroPages;
    private int rounds;
    private int throttle;
    private int maxThrottle;
    private boolean stalled;

    /**
     * {@code destination} must serialize each message as it is sent, as the Netty channels of
     * {@link SourceTransport} do: the engine reuses a batch's buffer once the batch is sent.
     */
    public SourceMigration(MigratableVm vm, ManagedChannel destination, MigrationParameters params, MeterRegistry metrics) {
        this(vm, destination, params, metrics, ProtocolVersion.PROTOCOL_VERSION_1.getNumber());
    }

    /** With another protocol version in Hello: lets tests speak to a destination as a newer source would. */
    SourceMigration(MigratableVm vm, ManagedChannel destination, MigrationParameters params, MeterRegistry metrics,
                    int protocolVersion) {
        this.vm = Objects.requireNonNull(vm, "vm");
        this.channel = Objects.requireNonNull(destination, "destination");
        this.params = Objects.requireNonNull(params, "params");
        this.registry = Objects.requireNonNull(metrics, "metrics");
        this.protocolVersion = protocolVersion;
        this.board = new ProgressBoard(vm.shape().ramBytes());
    }

    public String sessionId() {
        return sessionId;
    }

    /** A consistent snapshot; the last one of a finished migration carries the report. */
    public MigrationProgress progress() {
        return board.snapshot();
    }

    /** Asks the migration to stop; honoured until Commit is sent, ignored after. */
    public void cancel(String reason) {
        cancelReason = reason == null || reason.isBlank() ? "cancelled" : reason;
    }

    /** Runs the whole migration on this thread. Never throws for a migration failure: the report says it. */
    public MigrationReport run() {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("migration " + sessionId + " already ran");
        }
        acceptedNanos = System.nanoTime();
        metrics = new MigrationMetrics(registry);
        deadlineNanos = params.timeout().isZero() ? Long.MAX_VALUE : acceptedNanos + params.timeout().toNanos();
        encoder = new PageBatchEncoder(vm.ram(), params.compression() == MigrationParameters.PageCompression.LZ4);
        cap = params.bandwidthBytesPerSecond() > 0 ? new TokenBucket(params.bandwidthBytesPerSecond()) : null;
        burstPending = cap != null;
        pausedSpeedup = new PausedSpeedup(vm::vcpuCpuNanos, link::windowWaitNanos, channel.authority());
        boolean wasRunning = vm.runState() == RunState.RUNNING;
        DirtyTracker tracker = vm.dirtyTracker();
        MigrationReport.Builder report = MigrationReport.newBuilder().setMode("precopy")
                .setRamTotalBytes(vm.shape().ramBytes());
        long setupNanos = 0;
        long endNanos = 0;
        try (DirtyBitmap dirty = new DirtyBitmap(tracker.pageCount())) {
            try {
                long mark = acceptedNanos;
                connect();
                mark = setupStep("connect", mark);
                link.open(channel);
                handshake();
                mark = setupStep("handshake", mark);
                tracker.start();
                mark = setupStep("track", mark);
                probeSwitchover(wasRunning);
                setupStep("probe", mark);
                setupNanos = System.nanoTime() - acceptedNanos;
                metrics.setup(setupNanos);
                precopy(tracker, dirty);
                Switchover switchover = stopAndCopy(tracker, dirty);
                endNanos = switchover.runningAtNanos;
                report.setStatus("completed")
                        .setDowntimeMs(switchover.downtimeNanos / 1e6)
                        .putAllDowntimeBreakdownMs(downtimeBreakdown)
                        .setVerified(switchover.verified);
                if (switchover.blackoutNanos >= 0) {
                    report.setGuestBlackoutMs(switchover.blackoutNanos / 1e6);
                }
                metrics.downtime(switchover.downtimeNanos);
            } catch (MigrationFailure failure) {
                rollBack(failure, wasRunning, report);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "migration " + sessionId + " failed", e);
                rollBack(MigrationFailure.failed("source error: " + e), wasRunning, report);
            } catch (Error e) {
                // Still never leave the guest paused for nothing; then let the error take its course.
                rollBack(MigrationFailure.failed("source error: " + e), wasRunning, report);
                throw e;
            } finally {
                tracker.stop();
                if (throttle > 0) {
                    vm.throttle(0);
                }
            }
        }
        // A completed migration ends when the destination reports the VM running, not after the heartbeat report.
        long totalNanos = (endNanos != 0 ? endNanos : System.nanoTime()) - acceptedNanos;
        metrics.total(totalNanos);
        metrics.throttle(0);
        metrics.endGauges();
        MigrationReport finished = report
                .setTotalMs(totalNanos / 1e6)
                .setSetupMs(setupNanos / 1e6)
                .putAllSetupBreakdownMs(setupBreakdown)
                .setRounds(rounds)
                .setTransferredBytes(transferredBytes)
                .setZeroPages(encoder.zeroPages() + knownZeroPages)
                .setNormalPages(encoder.rawPages())
                .setCompressedPages(encoder.compressedPages())
                .setThroughputMbps(sendNanos > 0 ? transferredBytes / 1e6 / (sendNanos / 1e9) : 0)
                .setDirtyRatePagesPerS(dirtyRate)
                .setMaxThrottlePercent(maxThrottle)
                .setStalled(stalled)
                .addAllRoundReports(roundReports)
                .setExpectedDowntimeMs(Double.isNaN(expectedDowntimeMs) ? -1 : expectedDowntimeMs)
                .build();
        board.finish(finished);
        return finished;
    }

    /** Records a setup step that began at {@code since}; returns now. */
    private long setupStep(String step, long since) {
        long now = System.nanoTime();
        setupBreakdown.put(step, (now - since) / 1e6);
        return now;
    }

    private void rollBack(MigrationFailure failure, boolean wasRunning, MigrationReport.Builder report) {
        if (commitSent && !failure.destinationDeclined()) {
            // The destination may have resumed: resuming here could leave two running copies.
            report.setStatus("failed").setError("switchover in doubt: Commit was sent but the destination's Running "
                    + "never arrived (" + failure.getMessage() + "); the source VM stays paused, ask the "
                    + "destination for its status");
            link.abort("switchover in doubt");
            return;
        }
        link.abort(failure.getMessage());
        if (wasRunning) {
            vm.resume();
        }
        report.setStatus(failure.status()).setError(failure.getMessage());
    }

    private MigrationFailure interruption() {
        if (commitSent) {
            return null;
        }
        String reason = cancelReason;
        if (reason != null) {
            return MigrationFailure.cancelled(reason);
        }
        if (System.nanoTime() > deadlineNanos) {
            return MigrationFailure.cancelled("timed out after " + params.timeout().toMillis() + " ms");
        }
        return null;
    }

    private final Supplier<MigrationFailure> interruption = this::interruption;

    /**
     * Connects before Hello, so the handshake's clock sample does not include TCP and HTTP/2 set-up. Woken by
     * the channel's state changes rather than polling it, so a busy host's oversleeping adds nothing to setup.
     */
    private void connect() {
        long deadline = System.nanoTime() + STAGE_TIMEOUT_NANOS;
        Semaphore changed = new Semaphore(0);
        ConnectivityState watched = null;
        while (true) {
            ConnectivityState state = channel.getState(true);
            if (state == ConnectivityState.READY) {
                return;
            }
            if (state == ConnectivityState.TRANSIENT_FAILURE || state == ConnectivityState.SHUTDOWN) {
                throw MigrationFailure.failed("cannot connect to the destination " + channel.authority()
                        + " (channel " + state + ")");
            }
            MigrationFailure stop = interruption();
            if (stop != null) {
                throw stop;
            }
            if (System.nanoTime() > deadline) {
                throw MigrationFailure.failed("no connection to the destination " + channel.authority() + " within "
                        + TimeUnit.NANOSECONDS.toSeconds(STAGE_TIMEOUT_NANOS) + " s");
            }
            if (state != watched) {
                channel.notifyWhenStateChanged(state, changed::release);
                watched = state;
            }
            try {
                if (changed.tryAcquire(CONNECT_CHECK_MS, TimeUnit.MILLISECONDS)) {
                    watched = null;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw MigrationFailure.cancelled("interrupted while connecting");
            }
        }
    }

    private void handshake() {
        VmShape shape = vm.shape();
        VmShapeSpec.Builder spec = VmShapeSpec.newBuilder()
                .setVcpus(shape.vcpus())
                .setCpuFeatures(shape.cpuFeatures())
                .setKind(shape.kind());
        for (RamRegion region : shape.ram()) {
            spec.addRam(RamRegionSpec.newBuilder().setSlot(region.slot()).setGuestPhysAddr(region.guestPhysAddr())
                    .setSize(region.size()));
        }
        Hello.Builder hello = Hello.newBuilder()
                .setProtocolVersionValue(protocolVersion)
                .setSessionId(sessionId)
                .setShape(spec);
        if (params.compression() == MigrationParameters.PageCompression.LZ4) {
            hello.addCapabilities(Capability.CAPABILITY_LZ4);
        }
        if (params.verify()) {
            hello.addCapabilities(Capability.CAPABILITY_VERIFY);
        }
        long sent = System.nanoTime();
        link.send(SourceFrame.newBuilder().setHello(hello.setSourceClockNanos(sent)).build(), interruption);
        Welcome welcome = link.expect(DestinationFrame.FrameCase.WELCOME, STAGE_TIMEOUT_NANOS, "Welcome", interruption)
                .getWelcome();
        if (welcome.getProtocolVersionValue() != protocolVersion || !welcome.getSessionId().equals(sessionId)) {
            throw MigrationFailure.failed("the destination welcomed protocol version " + welcome.getProtocolVersionValue()
                    + " for session '" + welcome.getSessionId() + "'; this source offered version " + protocolVersion
                    + " for session '" + sessionId + "'");
        }
        clockSample(sent, welcome.getHelloReceivedClockNanos(), welcome.getDestinationClockNanos(), System.nanoTime());
    }

    /**
     * One NTP-style exchange: source send, destination receive, destination send, source receive. The
     * sample with the shortest round trip wins: its offset has the smallest error bound.
     */
    private void clockSample(long sent, long arrived, long answered, long received) {
        long roundTrip = Math.max(0, (received - sent) - (answered - arrived));
        if (roundTripNanos == 0 || roundTrip < roundTripNanos) {
            roundTripNanos = Math.max(1, roundTrip);
            clockOffsetNanos = ((arrived - sent) + (answered - received)) / 2;
        }
    }

    /**
     * Measures the switchover's fixed costs instead of assuming them: one real pause + save + resume here,
     * and the destination loading that state into its idle VM. The final state overwrites the probe. The
     * answer is taken after the first round ({@link #takeProbeAnswer}): meanwhile the destination builds its
     * VM, and the first pages wait in the link instead of behind that build.
     */
    private void probeSwitchover(boolean wasRunning) {
        byte[] state = timePauseAndSave(wasRunning);
        stateBytes = state.length;
        probeState = state;
        probeSentNanos = System.nanoTime();
        sendStateProbe(state);
        if (params.verify()) {
            verifyCostNanos = estimateVerifyCost();
        }
    }

    /** Pauses (if running), saves the state, resumes, and keeps the time the pause and the save took. */
    private byte[] timePauseAndSave(boolean wasRunning) {
        long start = System.nanoTime();
        byte[] state;
        long saved;
        if (wasRunning) {
            vm.pause();
            try {
                state = vm.saveState();
                saved = System.nanoTime();
            } finally {
                vm.resume();
            }
        } else {
            state = vm.saveState();
            saved = System.nanoTime();
        }
        // The source's resume is the probe's, not the switchover's: there the destination resumes.
        probePauseSaveNanos = saved - start;
        return state;
    }

    /**
     * Measures the switchover's fixed costs again, as the switchover will meet them: after a round is
     * installed, with nothing in flight. One more pause + save + resume here, then a clock sample and a load
     * over the idle link (the destination answers a StateProbe once every batch before it is installed). The
     * setup's samples can be inflated by the new connection and the busy first round (a 10 ms round trip and
     * a 2.7 ms pause have been seen against 1 ms and 0.2 ms later), enough to price a tight --max-downtime out.
     */
    private void resampleSwitchover() {
        switchoverResamples++;
        probeState = timePauseAndSave(vm.runState() == RunState.RUNNING);
        stateBytes = probeState.length;
        long sent = System.nanoTime();
        ProbeLoaded loaded = probeAgain();
        clockSample(sent, loaded.getProbeReceivedClockNanos(), loaded.getDestinationClockNanos(), System.nanoTime());
        probeLoadNanos = loaded.getLoadNanos();
    }

    /** Sends the probe state again as a marker; the answer comes once every batch before it is installed. */
    private ProbeLoaded probeAgain() {
        sendStateProbe(probeState);
        return link.expect(DestinationFrame.FrameCase.PROBE_LOADED, STAGE_TIMEOUT_NANOS, "ProbeLoaded", interruption)
                .getProbeLoaded();
    }

    private void sendStateProbe(byte[] state) {
        link.send(SourceFrame.newBuilder().setStateProbe(StateProbe.newBuilder()
                .setState(UnsafeByteOperations.unsafeWrap(state))).build(), interruption);
    }

    private void takeProbeAnswer() {
        DestinationLink.ProbeAnswer answer = link.awaitProbeLoaded(STAGE_TIMEOUT_NANOS, interruption);
        ProbeLoaded loaded = answer.loaded();
        clockSample(probeSentNanos, loaded.getProbeReceivedClockNanos(), loaded.getDestinationClockNanos(),
                answer.arrivedNanos());
        probeLoadNanos = loaded.getLoadNanos();
    }

    /** Digesting every page happens twice while paused (source, then destination): time a sample. */
    private long estimateVerifyCost() {
        long pages = vm.shape().pageCount();
        long sample = Math.min(pages, 4096);
        long nanos = Long.MAX_VALUE;
        // The best of three: the first pass also pays for class loading and the interpreter.
        for (int i = 0; i < 3; i++) {
            long start = System.nanoTime();
            PageDigests.of(vm.ram(), 0, (int) sample);
            nanos = Math.min(nanos, System.nanoTime() - start);
        }
        return (long) (2.0 * nanos * pages / sample);
    }

    /** Pause + save + state transfer + load + the Prepared/Commit round trip (+ verify), in ms. */
    private double switchoverOverheadMs() {
        double fixed = (probePauseSaveNanos + probeLoadNanos + roundTripNanos + verifyCostNanos) / 1e6;
        return fixed + bandwidth.pausedMillisFor(stateBytes);
    }

    private void precopy(DirtyTracker tracker, DirtyBitmap dirty) {
        board.phase("precopy");
        tracker.sync(dirty);
        long leastDirty = Long.MAX_VALUE;
        int roundsWithoutShrinking = 0;
        knownZeroPages = dropKnownZeroPages(tracker, dirty);
        sendBackingHint(dirty);
        board.sent(knownZeroPages, 0, dirty.count(), 0);
        while (true) {
            int round = ++rounds;
            board.round(round);
            long roundStart = System.nanoTime();
            pausedSpeedup.roundStarts();
            RoundTotals totals = sendRound(round, dirty, tracker, true);
            long pushed = System.nanoTime();
            pausedSpeedup.roundEnds();
            endRound(round, totals, false);
            if (round == 1) {
                totals = totals.withKnownZero(knownZeroPages);
                takeProbeAnswer();
            }
            metrics.round();
            tracker.sync(dirty);
            long remaining = dirty.count();
            double roundSeconds = Math.max(1e-6, (System.nanoTime() - roundStart) / 1e9);
            dirtyRate = remaining / roundSeconds;
            // Timed until the destination installed the round: a round smaller than the flow-control window is
            // pushed into it far faster than the link carries it, and its push alone would time the sender.
            long installed = link.awaitInstalled(round, STAGE_TIMEOUT_NANOS, interruption);
            bandwidth.sample(totals.wireBytes, totals.uncappedNanos + Math.max(0, installed - pushed),
                    pausedSpeedup.factor());
            // Dirty pages are pages the guest wrote: price them like the non-zero pages of this round. Averaging
            // over a first round's zero pages would make the last round look ten times cheaper than it is.
            long nonZeroPages = totals.pages - totals.zeroPages;
            if (nonZeroPages >= 64) {
                bytesPerPage = Math.max(1.0, (double) totals.payloadBytes / nonZeroPages);
            }
            double remainingBytes = remaining * bytesPerPage;
            expectedDowntimeMs = bandwidth.pausedMillisFor(remainingBytes) + switchoverOverheadMs();
            while (expectedDowntimeMs > allowedDowntimeMs()
                    && expectedDowntimeMs - (roundTripNanos + probePauseSaveNanos) / 1e6 <= allowedDowntimeMs()
                    && switchoverResamples < MAX_SWITCHOVER_RESAMPLES) {
                // The fixed costs decide whether the switchover fits: measure them again, as it will meet them.
                resampleSwitchover();
                expectedDowntimeMs = bandwidth.pausedMillisFor(remainingBytes) + switchoverOverheadMs();
            }
            roundReports.add(RoundReport.newBuilder().setRound(round).setPages(totals.pages)
                    .setZeroPages(totals.zeroPages).setBytes(totals.payloadBytes)
                    .setDurationMs(roundSeconds * 1e3).setDirtiedPages(remaining).build());
            // Shrinking means clearly below the best so far: noise of a few pages is not progress.
            if (remaining < leastDirty * SHRINK_FACTOR) {
                roundsWithoutShrinking = 0;
            } else if (++roundsWithoutShrinking >= STALL_ROUNDS) {
                stalled = true;
            }
            leastDirty = Math.min(leastDirty, remaining);
            metrics.expectedDowntime(expectedDowntimeMs);
            board.model(bytesPerPage, switchoverOverheadMs(),
                    bandwidth.known() ? dirtyRate * bytesPerPage / bandwidth.bytesPerSecond() : 1);
            board.sent(0, 0, remaining, throughputMbps());
            board.estimate(dirtyRate, expectedDowntimeMs, stalled, throttle);
            if (expectedDowntimeMs <= allowedDowntimeMs()) {
                // The guest kept writing while the round drained to the destination: price what the pause will
                // really find, and run another round instead if that no longer fits.
                tracker.sync(dirty);
                expectedDowntimeMs = bandwidth.pausedMillisFor(dirty.count() * bytesPerPage) + switchoverOverheadMs();
                if (expectedDowntimeMs <= allowedDowntimeMs()) {
                    return;
                }
            }
            MigrationFailure stop = interruption();
            if (stop != null) {
                throw stop;
            }
            if (stalled && params.onStall() == MigrationParameters.OnStall.FAIL) {
                throw MigrationFailure.failed("stalled: the dirty set has not shrunk below " + leastDirty + " pages for "
                        + STALL_ROUNDS + " rounds (" + describeConvergence(remaining) + ")");
            }
            if (bandwidth.pausedMillisFor(remainingBytes) < 1 && expectedDowntimeMs > allowedDowntimeMs()) {
                // Nothing left to send and still over budget: more rounds or a throttle cannot help.
                throw MigrationFailure.failed("the switchover alone exceeds the max downtime: "
                        + describeConvergence(remaining));
            }
            if (round >= params.maxRounds()) {
                // The operator's next step, as QEMU's documentation would point to auto-converge.
                String unthrottled = maxThrottle == 0
                        ? "; --auto-converge or --on-stall auto-converge would throttle the guest until it fits" : "";
                throw MigrationFailure.failed("did not converge in " + round + " rounds: " + describeConvergence(remaining)
                        + unthrottled);
            }
            if (params.autoConverge() || (stalled && params.onStall() == MigrationParameters.OnStall.AUTO_CONVERGE)) {
                throttle = throttle == 0 ? AUTO_CONVERGE_START : Math.min(AUTO_CONVERGE_MAX, throttle + AUTO_CONVERGE_STEP);
                maxThrottle = Math.max(maxThrottle, throttle);
                vm.throttle(throttle);
                metrics.throttle(throttle);
            }
        }
    }

    /**
     * The downtime the switchover may be expected to take: --max-downtime less a margin for the final round's
     * noise (on this 2-core host the last round and the destination's load vary by tens of percent from one
     * migration to the next, and a plan that fills the limit exactly overshoots it half the time), plus, with
     * --verify, the measured time to digest every page on both sides, a check asked for on top of the migration.
     */
    private double allowedDowntimeMs() {
        return params.maxDowntime().toMillis() * CONVERGENCE_MARGIN + verifyCostNanos / 1e6;
    }

    private String describeConvergence(long remaining) {
        return String.format("expected downtime %.1f ms > %.1f ms planned for (max %d ms less a %.0f %% margin%s) "
                        + "with %d pages dirty, dirty rate %.0f pages/s, "
                        + "bandwidth %.1f MB/s live, %.1f MB/s paused, switchover overhead %.1f ms (pause+save %.2f, "
                        + "load %.2f, round trip %.2f, verify %.2f, %d state bytes)",
                expectedDowntimeMs, allowedDowntimeMs(), params.maxDowntime().toMillis(),
                (1 - CONVERGENCE_MARGIN) * 100, verifyCostNanos > 0 ? ", plus the verify" : "", remaining, dirtyRate,
                bandwidth.bytesPerSecond() / 1e6, bandwidth.pausedBytesPerSecond() / 1e6, switchoverOverheadMs(),
                probePauseSaveNanos / 1e6, probeLoadNanos / 1e6, roundTripNanos / 1e6, verifyCostNanos / 1e6, stateBytes);
    }

    /** Throughput including the round in progress, which began at {@code roundStart}. */
    private double liveMbps(long roundStart, long capWait) {
        long nanos = sendNanos + (System.nanoTime() - roundStart - capWait);
        return nanos > 0 ? transferredBytes / 1e6 / (nanos / 1e9) : 0;
    }

    private double throughputMbps() {
        return sendNanos > 0 ? transferredBytes / 1e6 / (sendNanos / 1e9) : 0;
    }

    private record RoundTotals(long pages, long zeroPages, long payloadBytes, long wireBytes, long uncappedNanos) {
        /** Counts pages known to be zero that the round did not need to send. */
        RoundTotals withKnownZero(long known) {
            return new RoundTotals(pages + known, zeroPages + known, payloadBytes, wireBytes, uncappedNanos);
        }
    }

    /**
     * Round 1 need not send RAM the host never backed: the destination's RAM starts zero (VmFactory's contract).
     * Every page is rearmed first and only then is the VM asked which pages may hold data, so a write racing
     * with the question either backed its page before the answer or is logged for round 2. Returns how many
     * pages were dropped from {@code dirty}.
     */
    private long dropKnownZeroPages(DirtyTracker tracker, DirtyBitmap dirty) {
        tracker.rearm(dirty, 0, dirty.pages());
        try (DirtyBitmap mayBeNonZero = new DirtyBitmap(dirty.pages())) {
            vm.possiblyNonZeroPages(mayBeNonZero);
            return dirty.and(mayBeNonZero);
        }
    }

    /**
     * Names the pages round 1 will send, so the destination can back them with memory ahead of the batches
     * (PROTOCOL.md, "Backing memory ahead").
     */
    private void sendBackingHint(DirtyBitmap round1) {
        long pagesPerFrame = HINT_WORDS_PER_FRAME * 64L;
        for (long first = 0; first < round1.pages(); first += pagesPerFrame) {
            long pages = Math.min(pagesPerFrame, round1.pages() - first);
            byte[] bitmap = new byte[(int) ((pages + 63) >>> 6) * 8];
            // KVM's layout, which is the protocol's on x86-64: little-endian words, nothing past the last page.
            round1.copyWords(first, pages, MemorySegment.ofArray(bitmap));
            link.send(SourceFrame.newBuilder().setBackingHint(BackingHint.newBuilder()
                    .setFirstPage(first).setBitmap(UnsafeByteOperations.unsafeWrap(bitmap))).build(), interruption);
        }
    }

    /**
     * Sends every page set in {@code dirty} and clears it. With {@code live}, each chunk is rearmed just
     * before its pages are read (so writes after the read show up in the next sync) and the bandwidth cap
     * applies; the final round runs paused and uncapped.
     */
    private RoundTotals sendRound(int round, DirtyBitmap dirty, DirtyTracker tracker, boolean live) {
        long start = System.nanoTime();
        long heldBefore = link.setupHoldNanos();
        long capWait = 0;
        long pages = 0;
        long zeroBefore = encoder.zeroPages();
        long payload = 0;
        long wire = 0;
        long toSend = dirty.count();
        long pageCount = dirty.pages();
        long page = dirty.nextSetBit(0);
        while (page >= 0) {
            long chunkStart = page - page % REARM_CHUNK;
            long chunkEnd = Math.min(pageCount, chunkStart + REARM_CHUNK);
            if (live) {
                tracker.rearm(dirty, chunkStart, chunkEnd - chunkStart);
            }
            for (; page >= 0 && page < chunkEnd; page = dirty.nextSetBit(page + 1)) {
                dirty.clear(page);
                if (encoder.add(page)) {
                    long[] sent = flush(round, live);
                    pages += sent[0];
                    payload += sent[1];
                    wire += sent[2];
                    capWait += sent[3];
                    board.sent(sent[0], sent[1], toSend - pages, liveMbps(start, capWait));
                    if (burstPending && live && wire >= BURST_BYTES) {
                        timeBurst(wire, start);
                    }
                }
            }
        }
        if (!encoder.isEmpty()) {
            long[] sent = flush(round, live);
            pages += sent[0];
            payload += sent[1];
            wire += sent[2];
            capWait += sent[3];
            board.sent(sent[0], sent[1], toSend - pages, liveMbps(start, capWait));
        }
        if (burstPending && live && wire >= BURST_BYTES / 2) {
            // A round shorter than a burst still times the link if it is long enough; a shorter one would time
            // mostly the round trip, so the next round's start goes uncapped instead.
            timeBurst(wire, start);
        }
        long elapsed = System.nanoTime() - start;
        long sending = elapsed - capWait - (link.setupHoldNanos() - heldBefore);
        sendNanos += sending;
        return new RoundTotals(pages, encoder.zeroPages() - zeroBefore, payload, wire, sending);
    }

    /** Returns {pages, payload bytes, wire bytes, nanos waited for the cap}. */
    private long[] flush(int round, boolean live) {
        long zero = encoder.zeroPages();
        long raw = encoder.rawPages();
        long lz4 = encoder.compressedPages();
        int pages = encoder.pages();
        PageBatch batch = encoder.take(round, sequence++);
        SourceFrame frame = SourceFrame.newBuilder().setPageBatch(batch).build();
        int wire = frame.getSerializedSize();
        long waited = 0;
        if (live && cap != null && !burstPending) {
            try {
                waited = cap.take(wire);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw MigrationFailure.cancelled("interrupted");
            }
        }
        link.checkQuiet(interruption);
        link.send(frame, interruption);
        long payload = batch.getData().size();
        transferredBytes += payload;
        metrics.batch();
        metrics.pages(encoder.zeroPages() - zero, encoder.rawPages() - raw, encoder.compressedPages() - lz4, payload);
        return new long[] {pages, payload, wire, waited};
    }

    /**
     * Times the uncapped start of round 1 end to end: the destination answers a StateProbe only after it
     * installed every batch sent before it. The final phase runs uncapped, so its bandwidth is this burst's,
     * not what capped rounds show (the link never holds a capped sender back).
     */
    private void timeBurst(long bytes, long since) {
        burstPending = false;
        ProbeLoaded loaded = probeAgain();
        // The destination drains nothing before it has built its VM and answered the first probe.
        long from = Math.max(since, link.awaitProbeLoaded(STAGE_TIMEOUT_NANOS, interruption).arrivedNanos());
        bandwidth.burst(bytes, System.nanoTime() - from - loaded.getLoadNanos() - roundTripNanos);
    }

    private void endRound(int round, RoundTotals totals, boolean last) {
        link.send(SourceFrame.newBuilder().setRoundEnd(RoundEnd.newBuilder()
                .setRound(round).setPages(totals.pages).setLastSequence(sequence - 1).setFinal(last)).build(),
                interruption);
    }

    private record Switchover(long downtimeNanos, long blackoutNanos, boolean verified, long runningAtNanos) {
    }

    private Switchover stopAndCopy(DirtyTracker tracker, DirtyBitmap dirty) {
        board.phase("stop-and-copy");
        long lastHeartbeat = vm.heartbeats().lastNanos();
        // Collect what the guest dirtied since the last round while it still runs: the sync after the pause then
        // finds its bitmaps in cache and few new bits, and the downtime does not pay for a cold scan of all RAM.
        tracker.sync(dirty);
        long pausedAt = System.nanoTime();
        vm.pause();
        long pauseDone = System.nanoTime();
        int round = ++rounds;
        board.round(round);
        long roundStart = System.nanoTime();
        tracker.sync(dirty);
        long synced = System.nanoTime();
        RoundTotals totals = sendRound(round, dirty, tracker, false);
        endRound(round, totals, true);
        metrics.round();
        roundReports.add(RoundReport.newBuilder().setRound(round).setPages(totals.pages)
                .setZeroPages(totals.zeroPages).setBytes(totals.payloadBytes)
                .setDurationMs((System.nanoTime() - roundStart) / 1e6).setDirtiedPages(0).build());
        long roundDone = System.nanoTime();
        if (params.verify()) {
            sendDigests();
        }
        long saveStart = roundDone;
        byte[] state = vm.saveState();
        long saveDone = System.nanoTime();
        MigrationFailure stop = interruption();
        if (stop != null) {
            throw stop;
        }
        // Commit follows FinalState at once instead of after Prepared: the destination handles frames in order
        // and resumes only if it prepared (verified and loaded); otherwise it answers Failed without resuming
        // and this VM resumes. Waiting for Prepared first would add a round trip to the downtime and shorten no
        // window in which a broken link leaves the switchover in doubt.
        link.send(SourceFrame.newBuilder().setFinalState(FinalState.newBuilder()
                .setState(UnsafeByteOperations.unsafeWrap(state)).setBatches(sequence - 1)).build(), interruption);
        commitSent = true;
        long commitAt = System.nanoTime();
        link.send(SourceFrame.newBuilder().setCommit(Commit.newBuilder().setSessionId(sessionId)).build(), interruption);
        board.phase("committing");
        Prepared prepared = link.expect(DestinationFrame.FrameCase.PREPARED, STAGE_TIMEOUT_NANOS, "Prepared",
                interruption).getPrepared();
        if (params.verify() && prepared.getVerify() != VerifyOutcome.VERIFY_OUTCOME_PASSED) {
            throw MigrationFailure.failed("verify was requested but the destination reports " + prepared.getVerify());
        }
        long resumeClock = link.expect(DestinationFrame.FrameCase.RUNNING, STAGE_TIMEOUT_NANOS, "Running",
                interruption).getRunning().getResumeClockNanos();
        long runningAt = System.nanoTime();
        // The destination resumed after Commit left and before Running arrived: that bounds the offset's error.
        long resumedAt = Math.clamp(resumeClock - clockOffsetNanos, commitAt, runningAt);
        // Released: the destination runs the guest; this VM stays paused for the caller to discard or keep.
        long downtime = resumedAt - pausedAt;
        downtimeBreakdown.put("pause", (pauseDone - pausedAt) / 1e6);
        downtimeBreakdown.put("final_sync", (synced - pauseDone) / 1e6);
        downtimeBreakdown.put("final_pages", (roundDone - synced) / 1e6);
        downtimeBreakdown.put("save_state", (saveDone - saveStart) / 1e6);
        downtimeBreakdown.put("handover", (resumedAt - saveDone) / 1e6);
        board.phase("completed");
        long blackout = -1;
        try {
            // A guest that never beat here has no blackout to measure: do not wait for the report.
            DestinationFrame heartbeat = lastHeartbeat < 0 ? null : link.poll(DestinationFrame.FrameCase.FIRST_HEARTBEAT,
                    HEARTBEAT_REPORT_WAIT_NANOS);
            if (heartbeat != null && lastHeartbeat >= 0) {
                FirstHeartbeat first = heartbeat.getFirstHeartbeat();
                if (first.getOutcome() == HeartbeatOutcome.HEARTBEAT_OUTCOME_OBSERVED) {
                    blackout = Math.max(first.getHeartbeatClockNanos() - clockOffsetNanos, resumedAt) - lastHeartbeat;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        link.close();
        return new Switchover(downtime, blackout, prepared.getVerify() == VerifyOutcome.VERIFY_OUTCOME_PASSED,
                runningAt);
    }

    private void sendDigests() {
        long pages = vm.shape().pageCount();
        for (long first = 0; first < pages; first += DIGESTS_PER_FRAME) {
            int count = (int) Math.min(DIGESTS_PER_FRAME, pages - first);
            link.send(SourceFrame.newBuilder().setDigests(Digests.newBuilder()
                    .setFirstPage(first).setCount(count)
                    .setCrc32C(UnsafeByteOperations.unsafeWrap(PageDigests.of(vm.ram(), first, count)))).build(),
                    interruption);
        }
    }
}
