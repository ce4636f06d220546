package dev.ferry.vmm.control;

import com.google.protobuf.ByteString;
import dev.ferry.proto.v1.DumpMemoryRequest;
import dev.ferry.proto.v1.MemoryChunk;
import dev.ferry.proto.v1.PauseRequest;
import dev.ferry.proto.v1.QuitRequest;
import dev.ferry.proto.v1.ResumeRequest;
import dev.ferry.proto.v1.StatusRequest;
import dev.ferry.proto.v1.VmState;
import dev.ferry.proto.v1.VmStatus;
import dev.ferry.proto.v1.VmmControlGrpc;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RunState;
import dev.ferry.vmm.KvmVm;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The VMM's control endpoint (ferry.v1.VmmControl) over any {@link MigratableVm}: the KVM VM, a simulated
 * one, or none yet while an incoming VMM waits for a migration ({@link VmState#VM_STATE_WAITING_FOR_MIGRATION}).
 *
 * <p>DumpMemory offsets are guest-physical addresses. The stream carries only RAM: the chunks of a range that
 * spans the PCI hole below 4 GiB skip it, and each chunk says where it starts. Chunks are at most 1 MiB and
 * are sent as the client's flow control allows, so a large dump never piles up in the server's memory.
 */
public final class VmmControlService extends VmmControlGrpc.VmmControlImplBase {
    public static final int CHUNK_BYTES = 1 << 20;

    private final String name;
    private final Supplier<MigratableVm> vm;
    private final long startedNanos;
    private final Runnable quit;
    private volatile Supplier<String> migrationPhase = () -> "";

    /**
     * @param name         the VMM's name, reported in every status
     * @param vm           the VM, or null while an incoming VMM has none yet
     * @param startedNanos when the VMM started, on {@link System#nanoTime()}: uptime counts from here
     * @param quit         run after Quit has answered: stops the VM and ends the process (the caller's choice)
     */
    public VmmControlService(String name, Supplier<MigratableVm> vm, long startedNanos, Runnable quit) {
        this.name = Objects.requireNonNull(name, "name");
        this.vm = Objects.requireNonNull(vm, "vm");
        this.startedNanos = startedNanos;
        this.quit = Objects.requireNonNull(quit, "quit");
    }

    /** Where {@code migration_phase} in the status comes from (empty when no migration runs). */
    public void migrationPhase(Supplier<String> phase) {
        this.migrationPhase = Objects.requireNonNull(phase, "phase");
    }

    @Override
    public void status(StatusRequest request, StreamObserver<VmStatus> response) {
        response.onNext(status());
        response.onCompleted();
    }

    @Override
    public void pause(PauseRequest request, StreamObserver<VmStatus> response) {
        MigratableVm current = vm.get();
        if (current == null) {
            response.onError(noVm("pause"));
            return;
        }
        if (current.runState() == RunState.STOPPED) {
            response.onError(Status.FAILED_PRECONDITION.withDescription("cannot pause: the VM is stopped"
                    + stopReason(current).map(r -> " (" + r + ")").orElse("")).asRuntimeException());
            return;
        }
        try {
            current.pause();
        } catch (RuntimeException e) {
            response.onError(Status.INTERNAL.withDescription("pause failed: " + e.getMessage()).asRuntimeException());
            return;
        }
        response.onNext(status());
        response.onCompleted();
    }

    @Override
    public void resume(ResumeRequest request, StreamObserver<VmStatus> response) {
        MigratableVm current = vm.get();
        if (current == null) {
            response.onError(noVm("resume"));
            return;
        }
        if (current.runState() == RunState.STOPPED) {
            response.onError(Status.FAILED_PRECONDITION.withDescription("cannot resume: the VM is stopped"
                    + stopReason(current).map(r -> " (" + r + ")").orElse("")).asRuntimeException());
            return;
        }
        try {
            current.resume();
        } catch (RuntimeException e) {
            response.onError(Status.FAILED_PRECONDITION.withDescription("resume failed: " + e.getMessage())
                    .asRuntimeException());
            return;
        }
        response.onNext(status());
        response.onCompleted();
    }

    @Override
    public void quit(QuitRequest request, StreamObserver<VmStatus> response) {
        response.onNext(status());
        response.onCompleted();
        // After the answer: the quit action may end the process.
        Thread.ofPlatform().name(name + "-quit").start(quit);
    }

    @Override
    public void dumpMemory(DumpMemoryRequest request, StreamObserver<MemoryChunk> response) {
        MigratableVm current = vm.get();
        if (current == null) {
            response.onError(noVm("dump memory"));
            return;
        }
        List<GuestRam> ram = current.ram();
        long end = 0;
        for (GuestRam r : ram) {
            end = Math.max(end, r.region().guestPhysAddr() + r.region().size());
        }
        long offset = request.getOffset();
        long length = request.getLength();
        if (offset < 0 || offset >= end) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(String.format(
                    "offset 0x%x is outside guest memory, which ends at 0x%x", offset, end)).asRuntimeException());
            return;
        }
        if (length == 0) {
            length = end - offset;
        }
        if (length < 0 || length > end - offset) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(String.format(
                    "range [0x%x, 0x%x) runs past the end of guest memory at 0x%x",
                    offset, offset + request.getLength(), end)).asRuntimeException());
            return;
        }
        List<MemorySegment> pieces = new ArrayList<>();
        List<Long> addresses = new ArrayList<>();
        for (GuestRam r : ram) {
            long start = r.region().guestPhysAddr();
            long from = Math.max(offset, start);
            long to = Math.min(offset + length, start + r.region().size());
            for (long at = from; at < to; at += CHUNK_BYTES) {
                long size = Math.min(CHUNK_BYTES, to - at);
                pieces.add(r.memory().asSlice(at - start, size));
                addresses.add(at);
            }
        }
        if (pieces.isEmpty()) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(String.format(
                    "range [0x%x, 0x%x) holds no RAM (it lies in the PCI hole)", offset, offset + length))
                    .asRuntimeException());
            return;
        }
        streamChunks((ServerCallStreamObserver<MemoryChunk>) response, pieces, addresses);
    }

    private static void streamChunks(ServerCallStreamObserver<MemoryChunk> call, List<MemorySegment> pieces,
                                     List<Long> addresses) {
        AtomicBoolean finished = new AtomicBoolean();
        int[] next = {0};
        call.setOnCancelHandler(() -> finished.set(true));
        call.setOnReadyHandler(() -> {
            synchronized (next) {
                while (!finished.get() && call.isReady() && next[0] < pieces.size()) {
                    int i = next[0]++;
                    // One copy, out of live guest memory into the message; the guest may keep writing.
                    call.onNext(MemoryChunk.newBuilder()
                            .setOffset(addresses.get(i))
                            .setData(ByteString.copyFrom(pieces.get(i).asByteBuffer()))
                            .build());
                }
                if (next[0] == pieces.size() && finished.compareAndSet(false, true)) {
                    call.onCompleted();
                }
            }
        });
    }

    /** The status as reported by Status, Pause, Resume and Quit. */
    public VmStatus status() {
        VmStatus.Builder status = VmStatus.newBuilder()
                .setName(name)
                .setUptimeMs((System.nanoTime() - startedNanos) / 1_000_000)
                .setPid((int) ProcessHandle.current().pid())
                .setMigrationPhase(migrationPhase.get());
        MigratableVm current = vm.get();
        if (current == null) {
            return status.setState(VmState.VM_STATE_WAITING_FOR_MIGRATION).build();
        }
        status.setState(state(current.runState()))
                .setMemoryBytes(current.shape().ramBytes())
                .setVcpus(current.shape().vcpus())
                .setKind(current.shape().kind());
        current.counters().forEach(status::putCounters);
        status.putCounters("heartbeats", current.heartbeats().count());
        stopReason(current).ifPresent(status::setStopReason);
        return status.build();
    }

    private static java.util.Optional<String> stopReason(MigratableVm vm) {
        return vm instanceof KvmVm kvm ? kvm.stopReason() : java.util.Optional.empty();
    }

    private static VmState state(RunState state) {
        return switch (state) {
            case CREATED -> VmState.VM_STATE_CREATED;
            case RUNNING -> VmState.VM_STATE_RUNNING;
            case PAUSED -> VmState.VM_STATE_PAUSED;
            case STOPPED -> VmState.VM_STATE_STOPPED;
        };
    }

    private static io.grpc.StatusRuntimeException noVm(String what) {
        return Status.FAILED_PRECONDITION.withDescription("cannot " + what
                + ": no VM yet, this VMM is waiting for an incoming migration").asRuntimeException();
    }
}
