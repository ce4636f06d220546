package dev.ferry.destination;

import dev.ferry.proto.v1.DestinationFrame;
import dev.ferry.proto.v1.MigrationGrpc;
import dev.ferry.proto.v1.ProtocolVersion;
import dev.ferry.proto.v1.Refused;
import dev.ferry.proto.v1.SourceFrame;
import dev.ferry.vm.VmFactory;
import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The destination side of migration.proto's Migration service: builds a VM of the source's shape through
 * a {@link VmFactory}, installs the pages, loads the state, and resumes the VM on Commit. One migration at
 * a time; a second concurrent Transfer is refused. Add it to the VMM's control server, configured with
 * {@link ReceiverTransport#serverBuilder}.
 */
public final class MigrationReceiver implements BindableService, AutoCloseable {
    /** The protocol versions this destination accepts. */
    static final ProtocolVersion OLDEST = ProtocolVersion.PROTOCOL_VERSION_1;
    static final ProtocolVersion NEWEST = ProtocolVersion.PROTOCOL_VERSION_1;

    /** How long the destination watches for the guest's first heartbeat after resuming. */
    public static final Duration HEARTBEAT_WAIT = Duration.ofMillis(300);

    private final VmFactory factory;
    private final MigrationListener listener;
    private final AtomicReference<IncomingMigration> current = new AtomicReference<>();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "ferry-receiver-heartbeat");
        thread.setDaemon(true);
        return thread;
    });

    public MigrationReceiver(VmFactory factory, MigrationListener listener) {
        this.factory = factory;
        this.listener = listener;
    }

    /** Whether a migration is arriving right now. */
    public boolean busy() {
        return current.get() != null;
    }

    /** migration.proto's Migration service, with frames parsed by {@link ReceivedFrameMarshaller}. */
    @Override
    public ServerServiceDefinition bindService() {
        MethodDescriptor<SourceFrame, DestinationFrame> generated = MigrationGrpc.getTransferMethod();
        MethodDescriptor<ReceivedFrame, DestinationFrame> transfer = generated
                .toBuilder(new ReceivedFrameMarshaller(), generated.getResponseMarshaller()).build();
        return ServerServiceDefinition.builder(MigrationGrpc.SERVICE_NAME)
                .addMethod(transfer, ServerCalls.asyncBidiStreamingCall(this::transfer))
                .build();
    }

    private StreamObserver<ReceivedFrame> transfer(StreamObserver<DestinationFrame> responseObserver) {
        ServerCallStreamObserver<DestinationFrame> outbound = (ServerCallStreamObserver<DestinationFrame>) responseObserver;
        IncomingMigration[] self = new IncomingMigration[1];
        IncomingMigration session = new IncomingMigration(outbound, factory, listener, scheduler,
                HEARTBEAT_WAIT.toNanos(), () -> current.compareAndSet(self[0], null));
        self[0] = session;
        if (!current.compareAndSet(null, session)) {
            outbound.onNext(DestinationFrame.newBuilder().setRefused(Refused.newBuilder()
                    .setReason("another migration is already arriving at this destination")
                    .setOldestSupported(OLDEST)
                    .setNewestSupported(NEWEST)).build());
            outbound.onCompleted();
            return new StreamObserver<>() {
                @Override
                public void onNext(ReceivedFrame value) {
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            };
        }
        return session;
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
