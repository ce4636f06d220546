package dev.ferry.source;

import dev.ferry.proto.v1.Abort;
import dev.ferry.proto.v1.DestinationFrame;
import dev.ferry.proto.v1.MigrationGrpc;
import dev.ferry.proto.v1.ProbeLoaded;
import dev.ferry.proto.v1.Progress;
import dev.ferry.proto.v1.SourceFrame;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The source's end of one Transfer call. Sending blocks until gRPC's flow control says the call is ready,
 * so at most one HTTP/2 window of frames is ever in flight or buffered. Frames from the destination are
 * few (one per phase); they wait in a small queue. Two arrive while pre-copy streams and are kept aside:
 * Progress, which only updates {@link #lastProgress}, and ProbeLoaded (see {@link #awaitProbeLoaded}).
 */
final class DestinationLink implements ClientResponseObserver<SourceFrame, DestinationFrame> {
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition ready = lock.newCondition();
    private final ArrayBlockingQueue<DestinationFrame> inbound = new ArrayBlockingQueue<>(64);
    private final AtomicReference<Installed> lastProgress = new AtomicReference<>();
    private final AtomicReference<ProbeAnswer> probeAnswer = new AtomicReference<>();
    private volatile ClientCallStreamObserver<SourceFrame> call;
    private long setupHoldNanos;
    private long windowWaitNanos;
    private volatile String broken;
    private volatile boolean finished;

    /**
     * gRPC's default readiness threshold is 32 KiB: with 1 MiB batches the sender would wait for each one to
     * reach the socket before encoding the next. Four batches of slack keep encoding and writing overlapped
     * while the buffer stays bounded.
     */
    private static final int READY_THRESHOLD = 4 << 20;

    void open(ManagedChannel channel) {
        MigrationGrpc.newStub(channel).withOnReadyThreshold(READY_THRESHOLD).transfer(this);
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<SourceFrame> requestStream) {
        this.call = requestStream;
        requestStream.setOnReadyHandler(this::wake);
    }

    @Override
    public void onNext(DestinationFrame frame) {
        if (frame.hasProgress()) {
            lastProgress.set(new Installed(frame.getProgress(), System.nanoTime()));
            wake();
            return;
        }
        if (frame.hasProbeLoaded() && probeAnswer.compareAndSet(null, new ProbeAnswer(frame.getProbeLoaded(), System.nanoTime()))) {
            wake();
            return;
        }
        if (!inbound.offer(frame)) {
            broken = "the destination sent more than " + inbound.size() + " unanswered frames";
        }
        wake();
    }

    @Override
    public void onError(Throwable t) {
        broken = "the link to the destination broke: " + t.getMessage();
        wake();
    }

    @Override
    public void onCompleted() {
        finished = true;
        wake();
    }

    private void wake() {
        lock.lock();
        try {
            ready.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * How long sends have waited for a window the destination was not yet draining: until it answers the
     * state probe it is building its VM. Time the link itself took is not in it; bandwidth samples leave it out.
     */
    long setupHoldNanos() {
        return setupHoldNanos;
    }

    /** How long sends have waited for flow-control window in all: the link or the destination was behind. */
    long windowWaitNanos() {
        return windowWaitNanos;
    }

    /** The destination's Progress after a round, and when it arrived here. */
    private record Installed(Progress progress, long arrivedNanos) {
    }

    /**
     * Sends once the call is ready. {@code interruption} is asked while waiting: a non-null answer (a
     * cancel or timeout) ends the wait with that failure.
     */
    void send(SourceFrame frame, Supplier<MigrationFailure> interruption) {
        lock.lock();
        try {
            long waitStart = 0;
            while (!call.isReady()) {
                waitStart = waitStart == 0 ? System.nanoTime() : waitStart;
                checkAlive(interruption);
                ready.awaitNanos(POLL_NANOS);
            }
            if (waitStart != 0) {
                windowWaitNanos += System.nanoTime() - waitStart;
                ProbeAnswer answer = probeAnswer.get();
                long end = answer == null ? System.nanoTime() : Math.min(System.nanoTime(), answer.arrivedNanos());
                setupHoldNanos += Math.max(0, end - waitStart);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw MigrationFailure.cancelled("interrupted while sending");
        } finally {
            lock.unlock();
        }
        call.onNext(frame);
    }

    /**
     * Waits until the destination has installed everything up to the end of {@code round} (the frames still
     * in flight, up to a flow-control window, would otherwise land inside the downtime), and returns when
     * the Progress that says so arrived.
     */
    long awaitInstalled(int round, long timeoutNanos, Supplier<MigrationFailure> interruption) {
        return awaitAside(() -> {
            Installed installed = lastProgress.get();
            return installed != null && installed.progress().getRound() >= round ? installed : null;
        }, timeoutNanos, "the destination did not install round " + round, interruption).arrivedNanos();
    }

    /** The destination's answer to the state probe and when it arrived here (for the clock exchange). */
    record ProbeAnswer(ProbeLoaded loaded, long arrivedNanos) {
    }

    /**
     * Waits for the answer to the one StateProbe, which the destination sends once its VM is built and has
     * loaded the probe. The probe goes out ahead of the first round, so this is usually already here.
     */
    ProbeAnswer awaitProbeLoaded(long timeoutNanos, Supplier<MigrationFailure> interruption) {
        return awaitAside(probeAnswer::get, timeoutNanos, "no ProbeLoaded from the destination", interruption);
    }

    /** Waits for {@code arrived} to answer non-null, failing on any other frame (see {@link #checkQuiet}). */
    private <T> T awaitAside(Supplier<T> arrived, long timeoutNanos, String timedOut,
                             Supplier<MigrationFailure> interruption) {
        long deadline = System.nanoTime() + timeoutNanos;
        lock.lock();
        try {
            while (true) {
                T answer = arrived.get();
                if (answer != null) {
                    return answer;
                }
                checkQuiet(interruption);
                if (System.nanoTime() > deadline) {
                    throw MigrationFailure.failed(timedOut + " within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
                }
                ready.awaitNanos(POLL_NANOS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw MigrationFailure.cancelled("interrupted while waiting for the destination");
        } finally {
            lock.unlock();
        }
    }

    /** Fails if the destination said anything during pre-copy (it only speaks then to fail). */
    void checkQuiet(Supplier<MigrationFailure> interruption) {
        DestinationFrame frame = inbound.peek();
        if (frame != null) {
            throw unexpected(inbound.poll(), "during pre-copy");
        }
        checkAlive(interruption);
    }

    /** The next frame, which must be of {@code expected}; Failed and Refused become failures. */
    DestinationFrame expect(DestinationFrame.FrameCase expected, long timeoutNanos, String waitingFor,
                            Supplier<MigrationFailure> interruption) {
        long deadline = System.nanoTime() + timeoutNanos;
        try {
            while (true) {
                DestinationFrame frame = inbound.poll(POLL_NANOS, TimeUnit.NANOSECONDS);
                if (frame != null) {
                    if (frame.getFrameCase() == expected) {
                        return frame;
                    }
                    throw unexpected(frame, "while waiting for " + waitingFor);
                }
                checkAlive(interruption);
                if (System.nanoTime() > deadline) {
                    throw MigrationFailure.failed("no " + waitingFor + " from the destination within "
                            + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw MigrationFailure.cancelled("interrupted while waiting for " + waitingFor);
        }
    }

    /** Like {@link #expect} but returns null on timeout instead of failing. */
    DestinationFrame poll(DestinationFrame.FrameCase expected, long timeoutNanos) throws InterruptedException {
        DestinationFrame frame = inbound.poll(timeoutNanos, TimeUnit.NANOSECONDS);
        return frame != null && frame.getFrameCase() == expected ? frame : null;
    }

    private void checkAlive(Supplier<MigrationFailure> interruption) {
        MigrationFailure stop = interruption.get();
        if (stop != null) {
            throw stop;
        }
        DestinationFrame frame = inbound.peek();
        if (frame != null && (frame.hasFailed() || frame.hasRefused())) {
            throw unexpected(inbound.poll(), "");
        }
        if (broken != null) {
            throw MigrationFailure.failed(broken);
        }
        if (finished) {
            throw MigrationFailure.failed("the destination ended the stream early");
        }
    }

    private static MigrationFailure unexpected(DestinationFrame frame, String when) {
        return switch (frame.getFrameCase()) {
            case FAILED -> MigrationFailure.declined("the destination failed: " + frame.getFailed().getReason());
            case REFUSED -> MigrationFailure.declined("the destination refused the migration: "
                    + frame.getRefused().getReason());
            default -> MigrationFailure.failed("unexpected " + frame.getFrameCase() + " from the destination " + when);
        };
    }

    /** Tells the destination to discard its VM and ends the call; never throws. */
    void abort(String reason) {
        ClientCallStreamObserver<SourceFrame> current = call;
        if (current == null) {
            return;
        }
        try {
            if (broken == null && !finished) {
                current.onNext(SourceFrame.newBuilder().setAbort(Abort.newBuilder().setReason(reason)).build());
                current.onCompleted();
            } else {
                current.cancel(reason, null);
            }
        } catch (RuntimeException e) {
            current.cancel(reason, e);
        }
    }

    /** Half-closes after a completed migration. */
    void close() {
        try {
            call.onCompleted();
        } catch (RuntimeException ignored) {
            // The destination may already have ended the call; the migration is complete either way.
        }
    }
}
