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
import java.util.function.Consumer;
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
    /** How the VMM's log says the rehearsal ended, either way. */
    static final String REHEARSED = "rehearsed migration";
    static final String NOT_REHEARSED = "no migration rehearsal";
    private static final Logger LOG = Logger.getLogger(MigrationRehearsal.class.getName());
    private static final int REHEARSALS = 10;
    /** Large enough for the engine's whole-RAM bitmap loops to be compiled; never backed but for the pages below. */
    private static final long MEMORY = 1L << 30;
    /** Pages holding data, so the page encoder and installer run too. */
    private static final int DATA_PAGES = 4096;

    private MigrationRehearsal() {
    }

    /** Rehearses on a background thread, then tells {@code done} how it went, in words for the VMM's log. */
    static void startInBackground(String vmmName, Consumer<String> done) {
        Thread.ofPlatform().daemon().name(vmmName + "-rehearsal").priority(Thread.MIN_PRIORITY).start(() -> {
            long start = System.nanoTime();
            String failure = run();
            long millis = (System.nanoTime() - start) / 1_000_000;
            done.accept(failure == null ? REHEARSED + " in " + millis + " ms, ready to migrate warm"
                    : NOT_REHEARSED + " (" + failure + "); a first migration runs cold");
        });
    }

    /** Returns null when every rehearsal completed, else why not. */
    static String run() {
        try {
            KvmWarmUp.run();
            KvmVmFactory factory = new KvmVmFactory("rehearsal", SerialSink.none(), SerialSink.none());
            MigrationReceiver receiver = new MigrationReceiver(factory, new MigrationListener() {
                @Override
                public void onVmRunning(MigratableVm arrived) {
                    arrived.close();
                }

                @Override
                public void onDiscarded(String reason) {
                }
            });
            try (receiver; ControlServer server = ControlServer.start(new HostPort("127.0.0.1", 0), List.of(receiver))) {
                for (int i = 0; i < REHEARSALS; i++) {
                    String failure = rehearse(server.port());
                    if (failure != null) {
                        return failure;
                    }
                }
                return null;
            }
        } catch (RuntimeException | LinkageError e) {
            LOG.log(Level.FINE, "migration rehearsal skipped", e);
            return e.getMessage() == null ? e.toString() : e.getMessage();
        }
    }

    private static String rehearse(int port) {
        ManagedChannel channel = SourceTransport.channelTo("127.0.0.1", port);
        try (KvmVm vm = KvmVm.create(VmConfig.of("rehearsal", MEMORY, 1, BootSource.nothing()))) {
            byte[] page = new byte[MigratableVm.PAGE_SIZE];
            for (int i = 0; i < DATA_PAGES; i++) {
                page[i % page.length] = (byte) (i | 1);
                vm.memory().write((long) i * page.length, page);
            }
            MigrationReport report = new SourceMigration(vm, channel, MigrationParameters.defaults(),
                    MetricsEndpoint.registry()).run();
            return report.getStatus().equals("completed") ? null
                    : "the rehearsal " + report.getStatus() + ": " + report.getError();
        } finally {
            channel.shutdownNow();
        }
    }
}
