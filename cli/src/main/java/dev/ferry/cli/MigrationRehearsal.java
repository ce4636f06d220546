package dev.ferry.cli;

import dev.ferry.destination.MigrationListener;
import dev.ferry.destination.MigrationReceiver;
import dev.ferry.proto.v1.MigrationReport;
import dev.ferry.source.MigrationParameters;
import dev.ferry.source.SourceMigration;
import dev.ferry.source.SourceTransport;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.KvmVmFactory;
import dev.ferry.vmm.KvmWarmUp;
import dev.ferry.vmm.VmConfig;
import dev.ferry.vmm.boot.BootSource;
import dev.ferry.vmm.devices.SerialSink;
import io.grpc.ManagedChannel;

import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A VMM rehearses migrations as it starts, in the background: a throwaway KVM VM that never runs migrates
 * a few times through the real engine to a real receiver in this process over loopback gRPC, and the state
 * save and load run until the JIT has compiled them ({@link KvmWarmUp}). A JVM runs code slowly the first
 * times through it (class loading, native linking, the interpreter); without a rehearsal the first real
 * migration pays for that inside its setup and its downtime, tens to hundreds of milliseconds. A rehearsal
 * that fails (no usable /dev/kvm, say) only leaves the first migration colder.
 */
final class MigrationRehearsal {
    private static final Logger LOG = Logger.getLogger(MigrationRehearsal.class.getName());
    private static final int REHEARSALS = 4;
    /** Large enough for the engine's whole-RAM bitmap loops to be compiled; never backed but for the pages below. */
    private static final long MEMORY = 1L << 30;
    /** Pages holding data, so the page encoder and installer run too. */
    private static final int DATA_PAGES = 4096;

    private MigrationRehearsal() {
    }

    static void startInBackground(String vmmName) {
        Thread.ofPlatform().daemon().name(vmmName + "-rehearsal").priority(Thread.MIN_PRIORITY)
                .start(MigrationRehearsal::run);
    }

    static void run() {
        try {
            KvmWarmUp.run();
            KvmVmFactory factory = new KvmVmFactory("rehearsal", SerialSink.none(), SerialSink.none());
            MigrationReceiver receiver = new MigrationReceiver(factory, new MigrationListener() {
                @Override
                public void onVmRunning(MigratableVm arrived) {
                    ((KvmVm) arrived).close();
                }

                @Override
                public void onDiscarded(String reason) {
                }
            });
            try (receiver; ControlServer server = ControlServer.start(new HostPort("127.0.0.1", 0), List.of(receiver))) {
                for (int i = 0; i < REHEARSALS; i++) {
                    rehearse(server.port());
                }
            }
        } catch (RuntimeException | LinkageError e) {
            LOG.log(Level.FINE, "migration rehearsal skipped", e);
        }
    }

    private static void rehearse(int port) {
        ManagedChannel channel = SourceTransport.channelTo(new HostPort("127.0.0.1", port).toString());
        try (KvmVm vm = KvmVm.create(new VmConfig("rehearsal", MEMORY, 1, BootSource.nothing(), SerialSink.none(),
                SerialSink.none(), ""))) {
            byte[] page = new byte[MigratableVm.PAGE_SIZE];
            for (int i = 0; i < DATA_PAGES; i++) {
                page[i % page.length] = (byte) (i | 1);
                vm.memory().write((long) i * page.length, page);
            }
            MigrationReport report = new SourceMigration(vm, channel, MigrationParameters.defaults(),
                    MetricsEndpoint.registry()).run();
            if (!report.getStatus().equals("completed")) {
                LOG.fine(() -> "migration rehearsal " + report.getStatus() + ": " + report.getError());
            }
        } finally {
            channel.shutdownNow();
        }
    }
}
