package dev.ferry.cli;

import dev.ferry.simulator.SimulatedVm;
import dev.ferry.simulator.SimulatedVmFactory;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.VmFactory;
import dev.ferry.vm.VmShape;
import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.KvmVmFactory;
import dev.ferry.vmm.memory.PreallocatedMemory;
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

    @Option(names = "--prealloc", paramLabel = "SIZE", converter = Sizes.ByteSizeConverter.class,
            description = {"Back SIZE of guest memory before listening, like QEMU's -mem-prealloc: an arriving KVM VM "
                    + "of at most SIZE gets it as its RAM, so the first round writes into memory the host has backed "
                    + "already instead of backing it page by page. A larger VM gets fresh memory and the "
                    + "preallocation is released. Default: none."})
    Long prealloc;

    @Override
    public Integer call() throws InterruptedException {
        try (PreallocatedMemory reserve = prealloc == null ? null : preallocate(prealloc)) {
            return serve(reserve);
        }
    }

    private PreallocatedMemory preallocate(long bytes) {
        VmmRunCommand.checkMemoryFitsHost("--prealloc", bytes);
        long start = System.nanoTime();
        ProgressLine progress = new ProgressLine(true);
        PreallocatedMemory reserve;
        try {
            reserve = PreallocatedMemory.back(bytes, done -> progress.show(String.format(
                    "ferry vmm %s: preallocating %s of guest memory: %.0f %%", name, Units.bytes(bytes), 100.0 * done / bytes)));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--prealloc: " + e.getMessage(), e);
        }
        progress.finish(String.format("ferry vmm %s: preallocated %s of guest memory in %.1f s", name, Units.bytes(bytes),
                (System.nanoTime() - start) / 1e9));
        return reserve;
    }

    private int serve(PreallocatedMemory reserve) throws InterruptedException {
        VmFactory kvm = new KvmVmFactory(name, serial.open(), debugcon.open(), reserve);
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
                boolean waiting = reserve != null && reserve.available();
                MigratableVm created = forKind.apply(shape).create(shape);
                if (waiting && created instanceof KvmVm arrived) {
                    System.err.println("ferry vmm " + name + ": the arriving VM's " + Units.bytes(shape.ramBytes())
                            + (arrived.memory().preallocated() ? " of RAM are the preallocated memory"
                            : " of RAM exceed the " + Units.bytes(reserve.size()) + " preallocated: it gets fresh memory"
                            + " and the preallocation is released"));
                }
                return created;
            }
        };
        return new VmmProcess(name, null).serve(control, metrics, byKind);
    }
}
