package dev.ferry.cli;

import dev.ferry.simulator.SimulatedVm;
import dev.ferry.simulator.SimulatedVmFactory;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.VmFactory;
import dev.ferry.vm.VmShape;
import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.KvmVmFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;
import java.util.function.Function;

/** {@code ferry vmm incoming}: a destination VMM waiting for a migration stream, like QEMU's -incoming. */
@Command(name = "incoming", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Wait for a migration on the control endpoint; the VM's shape arrives in the handshake.",
                "After the migration the VM runs here and this process is an ordinary VMM."})
final class VmmIncomingCommand implements Callable<Integer> {
    @Option(names = "--name", defaultValue = "ferry-vm", description = "The VM's name (default ${DEFAULT-VALUE}).")
    String name;

    @Option(names = "--control", required = true, paramLabel = "HOST:PORT", converter = HostPort.Converter.class,
            description = "Where this VMM's control endpoint (and the migration stream) listens.")
    HostPort control;

    @Option(names = "--serial", paramLabel = "TARGET", converter = SerialTarget.Converter.class, defaultValue = "none",
            description = "COM1 output of the arriving VM: stdio, file:PATH, unix:PATH or none (default ${DEFAULT-VALUE}).")
    SerialTarget serial;

    @Option(names = "--debugcon", paramLabel = "TARGET", converter = SerialTarget.Converter.class, defaultValue = "none",
            description = "Port 0xE9 output: stdio, file:PATH, unix:PATH or none (default ${DEFAULT-VALUE}).")
    SerialTarget debugcon;

    @Option(names = "--metrics", paramLabel = "HOST:PORT", converter = HostPort.Converter.class,
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics.")
    HostPort metrics;

    @Override
    public Integer call() throws InterruptedException {
        VmFactory kvm = new KvmVmFactory(name, serial.open(), debugcon.open());
        VmFactory simulated = new SimulatedVmFactory();
        Function<VmShape, VmFactory> forKind = shape -> switch (shape.kind()) {
            case KvmVm.KIND -> kvm;
            case SimulatedVm.KIND -> simulated;
            default -> throw new IllegalArgumentException("this VMM runs kvm and simulated VMs, not \"" + shape.kind() + "\"");
        };
        VmFactory byKind = new VmFactory() {
            @Override
            public void check(VmShape shape) {
                forKind.apply(shape).check(shape);
            }

            @Override
            public MigratableVm create(VmShape shape) {
                return forKind.apply(shape).create(shape);
            }
        };
        return new VmmProcess(name, null).serve(control, metrics, byKind);
    }
}
