package dev.ferry.cli;

import dev.ferry.destination.MigrationListener;
import dev.ferry.destination.MigrationReceiver;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RunState;
import dev.ferry.vm.VmFactory;
import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.control.VmmControlService;
import io.grpc.BindableService;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A long-running VMM process: one VM (or, for an incoming VMM, none until a migration brings one) behind
 * one control endpoint that serves VM control, migration control and, when incoming, the migration stream.
 * It ends on Quit, when its VM stops, or after its VM migrated away.
 */
final class VmmProcess {
    private final String name;
    private final AtomicReference<MigratableVm> vm = new AtomicReference<>();
    private final CountDownLatch ended = new CountDownLatch(1);
    private final PrometheusMeterRegistry registry = MetricsEndpoint.registry();
    private final PrintStream log = System.err;
    private volatile int exitCode;
    private volatile String endReason = "";

    VmmProcess(String name, MigratableVm initial) {
        this.name = name;
        this.vm.set(initial);
    }

    /** Serves until the process should end; returns its exit code. */
    int serve(HostPort control, HostPort metrics, VmFactory incoming) throws InterruptedException {
        long started = System.nanoTime();
        VmmControlService vmControl = new VmmControlService(name, vm::get, started, () -> end(0, "quit requested"));
        MigrationControlService migrationControl = new MigrationControlService(vm::get, registry, this::afterMigration);
        vmControl.migrationPhase(migrationControl::phase);
        List<BindableService> services = new ArrayList<>(List.of(vmControl, migrationControl));
        MigrationReceiver receiver = null;
        if (incoming != null) {
            receiver = new MigrationReceiver(incoming, new MigrationListener() {
                @Override
                public void onVmRunning(MigratableVm arrived) {
                    vm.set(arrived);
                    log.println("ferry vmm " + name + ": migration completed, the VM runs here now");
                }

                @Override
                public void onDiscarded(String reason) {
                    log.println("ferry vmm " + name + ": incoming migration discarded: " + reason);
                }
            });
            services.add(receiver);
        }
        try (ControlServer server = ControlServer.start(control, services);
             MetricsEndpoint metricsEndpoint = metrics == null ? null : MetricsEndpoint.start(metrics, registry)) {
            log.println("ferry vmm " + name + ": control endpoint on " + control.host() + ":" + server.port()
                    + (metricsEndpoint == null ? "" : ", metrics on http://" + metrics.host() + ":" + metricsEndpoint.port() + "/metrics")
                    + (incoming == null ? "" : ", waiting for an incoming migration"));
            MigrationRehearsal.startInBackground(name, outcome -> log.println("ferry vmm " + name + ": " + outcome));
            while (!ended.await(100, TimeUnit.MILLISECONDS)) {
                watchForStop();
            }
        } finally {
            if (receiver != null) {
                receiver.close();
            }
            closeVm();
        }
        log.println("ferry vmm " + name + ": " + endReason);
        return exitCode;
    }

    /** A VM that stops by itself (guest shutdown, triple fault, internal error) ends the process. */
    private void watchForStop() {
        MigratableVm current = vm.get();
        if (current == null || current instanceof ReleasedVm || current.runState() != RunState.STOPPED) {
            return;
        }
        if (current instanceof KvmVm kvm) {
            String reason = kvm.stopReason().orElse("stopped");
            end(kvm.stoppedByError() ? 1 : 0, "VM stopped: " + reason);
        } else {
            end(0, "VM stopped");
        }
    }

    private void afterMigration(MigrationControlService.Outcome outcome) {
        if (!outcome.completed()) {
            log.println("ferry vmm " + name + ": migration " + outcome.report().getStatus()
                    + (outcome.report().hasError() ? ": " + outcome.report().getError() : "") + "; the VM keeps running here");
            return;
        }
        MigratableVm source = vm.get();
        vm.set(new ReleasedVm(source, "the destination"));
        if (outcome.keepSource()) {
            log.println("ferry vmm " + name + ": migration completed; keeping the paused source copy (--keep-source)");
        } else {
            end(0, "migration completed; the VM runs on the destination, this VMM is done");
        }
    }

    private void end(int code, String reason) {
        if (ended.getCount() > 0) {
            exitCode = code;
            endReason = reason;
            ended.countDown();
        }
    }

    private void closeVm() {
        MigratableVm current = vm.getAndSet(null);
        if (current instanceof ReleasedVm released) {
            current = released.released();
        }
        if (current != null) {
            try {
                current.close();
            } catch (RuntimeException e) {
                log.println("ferry vmm " + name + ": closing the VM failed: " + e.getMessage());
            }
        }
    }
}
