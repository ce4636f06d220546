package dev.ferry.cli;

import dev.ferry.proto.v1.CancelRequest;
import dev.ferry.proto.v1.MigrateRequest;
import dev.ferry.proto.v1.MigrationControlGrpc;
import dev.ferry.proto.v1.MigrationProgress;
import dev.ferry.proto.v1.MigrationReport;
import dev.ferry.proto.v1.MigrationStatusRequest;
import dev.ferry.source.MigrationParameters;
import dev.ferry.source.SourceMigration;
import dev.ferry.source.SourceTransport;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RunState;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The operator's side of a migration on a source VMM: starts the source agent toward the destination,
 * streams its progress, cancels it. One migration at a time.
 */
final class MigrationControlService extends MigrationControlGrpc.MigrationControlImplBase {
    private static final long PROGRESS_INTERVAL_MS = 200;

    private final Supplier<MigratableVm> vm;
    private final MeterRegistry metrics;
    private final Consumer<Outcome> onFinished;
    private final Object lock = new Object();
    private SourceMigration running;
    private MigrationProgress last = MigrationProgress.newBuilder().setPhase("none").setEtaMs(-1).build();

    /** How a migration ended, for the VMM process to act on (release the VM, end the process). */
    record Outcome(MigrationReport report, boolean keepSource) {
        boolean completed() {
            return "completed".equals(report.getStatus());
        }
    }

    MigrationControlService(Supplier<MigratableVm> vm, MeterRegistry metrics, Consumer<Outcome> onFinished) {
        this.vm = vm;
        this.metrics = metrics;
        this.onFinished = onFinished;
    }

    /** The running migration's phase, or empty: shown in the VMM's status. */
    String phase() {
        synchronized (lock) {
            return running == null ? "" : running.progress().getPhase();
        }
    }

    @Override
    public void migrate(MigrateRequest request, StreamObserver<MigrationProgress> response) {
        HostPort destination;
        try {
            destination = HostPort.parse(request.getDestination());
        } catch (IllegalArgumentException e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription("destination: " + e.getMessage()).asRuntimeException());
            return;
        }
        MigratableVm source = vm.get();
        if (source == null || source.runState() != RunState.RUNNING) {
            response.onError(Status.FAILED_PRECONDITION.withDescription("this VMM has no running VM to migrate"
                    + (source == null ? "" : " (it is " + source.runState().name().toLowerCase() + ")")).asRuntimeException());
            return;
        }
        MigrationParameters parameters;
        try {
            parameters = MigrationParameters.from(request);
        } catch (IllegalArgumentException e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        ManagedChannel channel = SourceTransport.channelTo(destination.host(), destination.port());
        SourceMigration migration = new SourceMigration(source, channel, parameters, metrics);
        synchronized (lock) {
            if (running != null) {
                channel.shutdownNow();
                response.onError(Status.FAILED_PRECONDITION.withDescription("a migration is already running").asRuntimeException());
                return;
            }
            running = migration;
        }
        CountDownLatch reported = new CountDownLatch(1);
        Thread.ofPlatform().name("migration-" + migration.sessionId()).start(() -> {
            MigrationReport report;
            try {
                report = migration.run();
            } finally {
                channel.shutdownNow();
            }
            MigrationProgress finalProgress = migration.progress().toBuilder().setReport(report).build();
            synchronized (lock) {
                running = null;
                last = finalProgress;
            }
            awaitQuietly(reported);
            onFinished.accept(new Outcome(report, request.getKeepSource()));
        });
        streamProgress(migration, (ServerCallStreamObserver<MigrationProgress>) response, reported);
    }

    /** Sends progress until the migration ends; a client that goes away does not stop the migration. */
    private void streamProgress(SourceMigration migration, ServerCallStreamObserver<MigrationProgress> response,
                                CountDownLatch reported) {
        Thread.ofPlatform().daemon().name("migration-progress").start(() -> {
            try {
                while (true) {
                    MigrationProgress finished;
                    synchronized (lock) {
                        finished = running == migration ? null : last;
                    }
                    if (response.isCancelled()) {
                        return;
                    }
                    if (finished != null) {
                        response.onNext(finished);
                        response.onCompleted();
                        return;
                    }
                    response.onNext(migration.progress());
                    TimeUnit.MILLISECONDS.sleep(PROGRESS_INTERVAL_MS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                // the client went away mid-stream; the migration goes on
            } finally {
                reported.countDown();
            }
        });
    }

    /** Lets the final report reach the operator before the process acts on the outcome (and perhaps exits). */
    private static void awaitQuietly(CountDownLatch reported) {
        try {
            reported.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void status(MigrationStatusRequest request, StreamObserver<MigrationProgress> response) {
        response.onNext(current());
        response.onCompleted();
    }

    @Override
    public void cancel(CancelRequest request, StreamObserver<MigrationProgress> response) {
        SourceMigration migration;
        synchronized (lock) {
            migration = running;
        }
        if (migration == null) {
            response.onError(Status.FAILED_PRECONDITION.withDescription("no migration is running").asRuntimeException());
            return;
        }
        migration.cancel("cancelled by the operator");
        response.onNext(migration.progress());
        response.onCompleted();
    }

    private MigrationProgress current() {
        synchronized (lock) {
            return running == null ? last : running.progress();
        }
    }
}
