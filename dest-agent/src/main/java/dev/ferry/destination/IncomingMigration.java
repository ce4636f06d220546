package dev.ferry.destination;

import dev.ferry.proto.v1.BackingHint;
import dev.ferry.proto.v1.Capability;
import dev.ferry.proto.v1.Commit;
import dev.ferry.proto.v1.DestinationFrame;
import dev.ferry.proto.v1.Digests;
import dev.ferry.proto.v1.Failed;
import dev.ferry.proto.v1.FinalState;
import dev.ferry.proto.v1.FirstHeartbeat;
import dev.ferry.proto.v1.Hello;
import dev.ferry.proto.v1.HeartbeatOutcome;
import dev.ferry.proto.v1.PageBatch;
import dev.ferry.proto.v1.Prepared;
import dev.ferry.proto.v1.ProbeLoaded;
import dev.ferry.proto.v1.Progress;
import dev.ferry.proto.v1.ProtocolVersion;
import dev.ferry.proto.v1.RamRegionSpec;
import dev.ferry.proto.v1.Refused;
import dev.ferry.proto.v1.RoundEnd;
import dev.ferry.proto.v1.Running;
import dev.ferry.proto.v1.SourceFrame;
import dev.ferry.proto.v1.VerifyOutcome;
import dev.ferry.proto.v1.VmShapeSpec;
import dev.ferry.proto.v1.Welcome;
import dev.ferry.vm.Heartbeats;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RamRegion;
import dev.ferry.vm.VmFactory;
import dev.ferry.vm.VmShape;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One migration arriving over one Transfer call: the receiver's state machine of migration.proto.
 * gRPC delivers inbound frames one at a time; outbound frames are sent under {@link #outbound}'s lock
 * because the heartbeat wait sends from a scheduler thread.
 */
final class IncomingMigration implements StreamObserver<ReceivedFrame> {
    private static final Logger LOG = Logger.getLogger(IncomingMigration.class.getName());

    enum State { AWAIT_HELLO, RECEIVING, PREPARED, RUNNING, DONE, FAILED }

    private final ServerCallStreamObserver<DestinationFrame> outbound;
    private final VmFactory factory;
    private final MigrationListener listener;
    private final ScheduledExecutorService scheduler;
    private final Runnable onEnd;
    private final long heartbeatWaitNanos;

    private volatile State state = State.AWAIT_HELLO;
    private String sessionId = "";
    /** The VM of the Hello's shape, built on its own thread while the first frames travel. */
    private CompletableFuture<MigratableVm> building;
    private boolean lz4;
    private MigratableVm vm;
    private PageInstaller installer;
    private long pageCount;
    private Prefaulter prefaulter;
    private PageDigestCheck digests;
    private int round = 1;
    private long roundPages;
    private long nextSequence = 1;
    private boolean finalRoundEnded;
    private boolean ended;

    IncomingMigration(ServerCallStreamObserver<DestinationFrame> outbound, VmFactory factory,
                      MigrationListener listener, ScheduledExecutorService scheduler, long heartbeatWaitNanos,
                      Runnable onEnd) {
        this.outbound = outbound;
        this.factory = factory;
        this.listener = listener;
        this.scheduler = scheduler;
        this.heartbeatWaitNanos = heartbeatWaitNanos;
        this.onEnd = onEnd;
    }

    State state() {
        return state;
    }

    @Override
    public void onNext(ReceivedFrame received) {
        SourceFrame frame = received.frame();
        State now = state;
        if (now == State.FAILED || now == State.DONE) {
            return;
        }
        try {
            switch (frame.getFrameCase()) {
                case HELLO -> onHello(frame.getHello());
                case BACKING_HINT -> onBackingHint(frame.getBackingHint());
                case PAGE_BATCH -> onPageBatch(frame.getPageBatch(), received.pageData());
                case ROUND_END -> onRoundEnd(frame.getRoundEnd());
                case STATE_PROBE -> onStateProbe(frame.getStateProbe().getState().toByteArray());
                case DIGESTS -> onDigests(frame.getDigests());
                case FINAL_STATE -> onFinalState(frame.getFinalState());
                case COMMIT -> onCommit(frame.getCommit());
                case ABORT -> fail("the source aborted: " + nonEmpty(frame.getAbort().getReason()), false);
                case FRAME_NOT_SET -> throw new ProtocolViolation("empty frame (no oneof case set) in state " + now);
            }
        } catch (ProtocolViolation | VmUnavailable e) {
            fail(e.getMessage(), true);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "migration session " + sessionId + " failed", e);
            fail("destination error in state " + now + ": " + e, true);
        }
    }

    @Override
    public void onError(Throwable t) {
        State now = state;
        if (now == State.RUNNING || now == State.DONE || now == State.FAILED) {
            endOnce();
            return;
        }
        discard("the stream from the source broke in state " + now + ": " + t);
    }

    @Override
    public void onCompleted() {
        State now = state;
        if (now == State.RUNNING || now == State.DONE || now == State.FAILED) {
            endOnce();
            return;
        }
        fail("the source closed the stream in state " + now + ", before Commit", true);
    }

    private void onHello(Hello hello) {
        long received = System.nanoTime();
        expect(State.AWAIT_HELLO, "Hello");
        int version = hello.getProtocolVersionValue();
        if (version < MigrationReceiver.OLDEST.getNumber() || version > MigrationReceiver.NEWEST.getNumber()) {
            refuse("protocol version " + version + " offered, this destination speaks " + MigrationReceiver.OLDEST.getNumber()
                    + ".." + MigrationReceiver.NEWEST.getNumber());
            return;
        }
        if (hello.getSessionId().isEmpty()) {
            refuse("Hello without a session id");
            return;
        }
        if (hello.getSourceClockNanos() == 0) {
            refuse("Hello without the source clock");
            return;
        }
        sessionId = hello.getSessionId();
        VmShape shape;
        try {
            shape = toShape(hello.getShape());
        } catch (IllegalArgumentException e) {
            refuse("invalid VM shape: " + e.getMessage());
            return;
        }
        try {
            factory.check(shape);
        } catch (IllegalArgumentException e) {
            refuse("this destination cannot build the source's VM: " + e.getMessage());
            return;
        }
        pageCount = shape.pageCount();
        building = CompletableFuture.supplyAsync(() -> factory.create(shape),
                task -> Thread.ofPlatform().daemon().name("ferry-receiver-vm-build").start(task));
        lz4 = hello.getCapabilitiesList().contains(Capability.CAPABILITY_LZ4);
        if (hello.getCapabilitiesList().contains(Capability.CAPABILITY_VERIFY)) {
            digests = new PageDigestCheck(shape.pageCount());
        }
        state = State.RECEIVING;
        send(DestinationFrame.newBuilder().setWelcome(Welcome.newBuilder()
                .setProtocolVersion(ProtocolVersion.forNumber(version))
                .setSessionId(sessionId)
                .setHelloReceivedClockNanos(received)
                .setDestinationClockNanos(System.nanoTime())).build());
    }

    private static VmShape toShape(VmShapeSpec spec) {
        if (spec.getRamCount() == 0) {
            throw new IllegalArgumentException("no RAM regions");
        }
        if (spec.getKind().isEmpty()) {
            throw new IllegalArgumentException("no kind");
        }
        List<RamRegion> ram = new ArrayList<>();
        for (RamRegionSpec region : spec.getRamList()) {
            ram.add(new RamRegion(region.getSlot(), region.getGuestPhysAddr(), region.getSize()));
        }
        return new VmShape(ram, spec.getVcpus(), spec.getCpuFeatures(), spec.getKind());
    }

    private void onBackingHint(BackingHint hint) {
        expect(State.RECEIVING, "BackingHint");
        if (round != 1 || nextSequence != 1) {
            throw new ProtocolViolation("BackingHint after round 1's first PageBatch");
        }
        if (prefaulter == null) {
            prefaulter = new Prefaulter(pageCount);
        }
        prefaulter.add(hint);
    }

    private void onPageBatch(PageBatch batch, List<ByteBuffer> data) {
        expect(State.RECEIVING, "PageBatch");
        if (finalRoundEnded) {
            throw new ProtocolViolation("PageBatch " + batch.getSequence() + " after the final round ended");
        }
        if (batch.getSequence() != nextSequence) {
            throw new ProtocolViolation("PageBatch sequence " + batch.getSequence() + " where " + nextSequence + " was next");
        }
        if (batch.getRound() != round) {
            throw new ProtocolViolation("PageBatch " + batch.getSequence() + " of round " + batch.getRound()
                    + " during round " + round);
        }
        PageInstaller pages = installer();
        if (prefaulter != null) {
            prefaulter.start(vm);
        }
        roundPages += pages.install(batch, data);
        nextSequence++;
        if (prefaulter != null && round == 1) {
            prefaulter.installedUpTo(pages.lastPage());
        }
    }

    private void onRoundEnd(RoundEnd end) {
        expect(State.RECEIVING, "RoundEnd");
        if (finalRoundEnded) {
            throw new ProtocolViolation("RoundEnd " + end.getRound() + " after the final round ended");
        }
        if (end.getRound() != round) {
            throw new ProtocolViolation("RoundEnd " + end.getRound() + " during round " + round);
        }
        if (end.getPages() != roundPages || end.getLastSequence() != nextSequence - 1) {
            throw new ProtocolViolation("RoundEnd " + round + " claims " + end.getPages() + " pages up to batch "
                    + end.getLastSequence() + ", received " + roundPages + " pages up to batch " + (nextSequence - 1));
        }
        PageInstaller installed = installer();
        send(DestinationFrame.newBuilder().setProgress(Progress.newBuilder()
                .setRound(round)
                .setBatchesInstalled(nextSequence - 1)
                .setPagesInstalled(installed.pagesInstalled())
                .setPayloadBytes(installed.payloadBytes())).build());
        finalRoundEnded = end.getFinal();
        if (prefaulter != null && round == 1) {
            // Every hinted page has arrived by now.
            prefaulter.stop();
        }
        round++;
        roundPages = 0;
    }

    private void onStateProbe(byte[] probe) {
        long received = System.nanoTime();
        expect(State.RECEIVING, "StateProbe");
        if (probe.length == 0) {
            throw new ProtocolViolation("empty StateProbe");
        }
        MigratableVm target = vm();
        long start = System.nanoTime();
        try {
            target.loadState(probe);
        } catch (RuntimeException e) {
            throw new ProtocolViolation("the probe state does not load: " + e.getMessage());
        }
        long loadNanos = Math.max(1, System.nanoTime() - start);
        send(DestinationFrame.newBuilder().setProbeLoaded(ProbeLoaded.newBuilder()
                .setLoadNanos(loadNanos)
                .setProbeReceivedClockNanos(received)
                .setDestinationClockNanos(System.nanoTime())).build());
    }

    private void onDigests(Digests frame) {
        expect(State.RECEIVING, "Digests");
        if (digests == null) {
            throw new ProtocolViolation("Digests without the verify capability in Hello");
        }
        if (!finalRoundEnded) {
            throw new ProtocolViolation("Digests before the final round ended");
        }
        digests.accept(frame);
    }

    private void onFinalState(FinalState frame) {
        expect(State.RECEIVING, "FinalState");
        if (!finalRoundEnded) {
            throw new ProtocolViolation("FinalState before the final round ended");
        }
        if (frame.getState().isEmpty()) {
            throw new ProtocolViolation("empty FinalState");
        }
        if (frame.getBatches() != nextSequence - 1) {
            throw new ProtocolViolation("FinalState counts " + frame.getBatches() + " batches, received "
                    + (nextSequence - 1));
        }
        VerifyOutcome verify = VerifyOutcome.VERIFY_OUTCOME_NOT_REQUESTED;
        if (digests != null) {
            digests.verify(vm().ram());
            verify = VerifyOutcome.VERIFY_OUTCOME_PASSED;
        }
        long start = System.nanoTime();
        try {
            vm().loadState(frame.getState().toByteArray());
        } catch (RuntimeException e) {
            throw new ProtocolViolation("the final state does not load: " + e.getMessage());
        }
        long loadNanos = Math.max(1, System.nanoTime() - start);
        state = State.PREPARED;
        send(DestinationFrame.newBuilder().setPrepared(Prepared.newBuilder()
                .setLoadNanos(loadNanos).setVerify(verify)).build());
    }

    private void onCommit(Commit commit) {
        expect(State.PREPARED, "Commit");
        if (!commit.getSessionId().equals(sessionId)) {
            throw new ProtocolViolation("Commit for session '" + commit.getSessionId() + "' in session '" + sessionId + "'");
        }
        vm.resume();
        long resumed = System.nanoTime();
        state = State.RUNNING;
        send(DestinationFrame.newBuilder().setRunning(Running.newBuilder().setResumeClockNanos(resumed)).build());
        listener.onVmRunning(vm);
        Heartbeats heartbeats = vm.heartbeats();
        if (heartbeats == Heartbeats.NONE) {
            finishWithHeartbeat(HeartbeatOutcome.HEARTBEAT_OUTCOME_GUEST_HAS_NONE, 0);
            return;
        }
        long deadline = resumed + heartbeatWaitNanos;
        AtomicReference<ScheduledFuture<?>> poll = new AtomicReference<>();
        poll.set(scheduler.scheduleWithFixedDelay(() -> {
            long first = heartbeats.firstNanosAfter(resumed);
            if (first >= 0) {
                finishWithHeartbeat(HeartbeatOutcome.HEARTBEAT_OUTCOME_OBSERVED, first);
            } else if (System.nanoTime() > deadline) {
                finishWithHeartbeat(HeartbeatOutcome.HEARTBEAT_OUTCOME_NOT_IN_TIME, 0);
            } else {
                return;
            }
            ScheduledFuture<?> self = poll.get();
            if (self != null) {
                self.cancel(false);
            }
        }, 1, 1, TimeUnit.MILLISECONDS));
    }

    private synchronized void finishWithHeartbeat(HeartbeatOutcome outcome, long nanos) {
        if (state != State.RUNNING) {
            return; // already reported, or the stream ended meanwhile
        }
        state = State.DONE;
        send(DestinationFrame.newBuilder().setFirstHeartbeat(FirstHeartbeat.newBuilder()
                .setOutcome(outcome).setHeartbeatClockNanos(nanos)).build());
        complete();
        endOnce();
    }

    private PageInstaller installer() {
        vm();
        return installer;
    }

    /** The VM, once built: the first frame that needs it waits for the build (the transport holds back the rest). */
    private MigratableVm vm() {
        if (vm == null) {
            try {
                vm = building.join();
            } catch (CompletionException e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                throw new VmUnavailable("this destination could not build the source's VM: " + cause.getMessage());
            }
            installer = new PageInstaller(vm, lz4);
        }
        return vm;
    }

    private void expect(State expected, String frame) {
        if (state != expected) {
            throw new ProtocolViolation(frame + " in state " + state + " (allowed in " + expected + ")");
        }
    }

    private void refuse(String reason) {
        state = State.FAILED;
        LOG.info(() -> "migration refused: " + reason);
        listener.onDiscarded("refused: " + reason);
        endOnce();
        send(DestinationFrame.newBuilder().setRefused(Refused.newBuilder()
                .setReason(reason)
                .setOldestSupported(MigrationReceiver.OLDEST)
                .setNewestSupported(MigrationReceiver.NEWEST)).build());
        complete();
    }

    /** Ends the session without a VM: tells the source (when {@code tellSource}) and discards the VM. */
    private void fail(String reason, boolean tellSource) {
        if (state == State.RUNNING || state == State.DONE) {
            return;
        }
        // The VM is dropped before the source hears of it, so the source resumes only once nothing runs here.
        discard(reason);
        if (tellSource) {
            send(DestinationFrame.newBuilder().setFailed(Failed.newBuilder().setReason(reason)).build());
        }
        complete();
    }

    private void discard(String reason) {
        state = State.FAILED;
        LOG.info(() -> "migration session " + sessionId + " discarded: " + reason);
        vm = null;
        if (prefaulter != null) {
            prefaulter.stopAndJoin();
        }
        if (building != null) {
            // Never resumed: closed now, or as soon as its build ends.
            building.thenAccept(MigratableVm::close);
        }
        listener.onDiscarded(reason);
        endOnce();
    }

    private void send(DestinationFrame frame) {
        synchronized (outbound) {
            if (!outbound.isCancelled()) {
                outbound.onNext(frame);
            }
        }
    }

    private void complete() {
        synchronized (outbound) {
            if (!outbound.isCancelled()) {
                outbound.onCompleted();
            }
        }
    }

    private synchronized void endOnce() {
        if (!ended) {
            ended = true;
            onEnd.run();
        }
    }

    /** The VM the Hello asked for could not be built after all; the reason is told to the source. */
    private static final class VmUnavailable extends RuntimeException {
        VmUnavailable(String message) {
            super(message, null, false, false);
        }
    }

    private static String nonEmpty(String reason) {
        return reason.isEmpty() ? "(no reason given)" : reason;
    }
}
