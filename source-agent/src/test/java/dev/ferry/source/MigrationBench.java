package dev.ferry.source;

import dev.ferry.destination.MigrationListener;
import dev.ferry.destination.MigrationReceiver;
import dev.ferry.destination.ReceiverTransport;
import dev.ferry.proto.v1.MigrationReport;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.VmFactory;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A real destination (a {@link MigrationReceiver} behind a Netty server on a localhost port) and a real
 * channel to it, both in the test JVM.
 */
final class MigrationBench implements AutoCloseable {
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final AtomicReference<MigratableVm> running = new AtomicReference<>();
    final List<String> discarded = new CopyOnWriteArrayList<>();
    final List<MemoryVm> built = new CopyOnWriteArrayList<>();
    final MigrationReceiver receiver;
    final Server server;
    final ManagedChannel channel;

    MigrationBench(ServerInterceptor... interceptors) throws IOException {
        this(null, interceptors);
    }

    MigrationBench(VmFactory factory, ServerInterceptor... interceptors) throws IOException {
        VmFactory destinationFactory = factory != null ? factory : shape -> {
            MemoryVm vm = new MemoryVm(shape, 0, 0).withoutWrites();
            built.add(vm);
            return vm;
        };
        receiver = new MigrationReceiver(destinationFactory, new MigrationListener() {
            @Override
            public void onVmRunning(MigratableVm vm) {
                running.set(vm);
            }

            @Override
            public void onDiscarded(String reason) {
                discarded.add(reason);
            }
        });
        server = ReceiverTransport.serverBuilder(new InetSocketAddress("127.0.0.1", 0))
                .addService(ServerInterceptors.intercept(receiver, interceptors))
                .build()
                .start();
        channel = SourceTransport.channelTo("127.0.0.1", server.getPort());
    }

    SourceMigration migration(MigratableVm vm, MigrationParameters params) {
        return new SourceMigration(vm, channel, params, registry);
    }

    MigrationReport migrate(MigratableVm vm, MigrationParameters params) {
        return migration(vm, params).run();
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow();
        server.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
        server.awaitTermination(5, TimeUnit.SECONDS);
        receiver.close();
        for (MemoryVm vm : built) {
            vm.close();
        }
    }
}
