package dev.ferry.cli;

import dev.ferry.simulator.SimulatedVm;
import dev.ferry.simulator.WorkloadSpec;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.VmConfig;
import dev.ferry.vmm.boot.BootSector;
import dev.ferry.vmm.boot.BootSource;
import dev.ferry.vmm.boot.LongModePayload;
import dev.ferry.vmm.boot.MultibootKernel;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code ferry vmm run}: a VMM process running one VM, controlled through its endpoint. */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Run a VM in this process until it stops, migrates away, or is told to quit.",
        footer = {"",
                "Workload guest: --workload dirty:KEY=VALUE,... (Ferry's own Multiboot kernel)",
                "  rate=SIZE|max     bytes per second of page writes (256M), or as fast as it can",
                "  pattern=P         uniform (random pages), sequential, or hotspot:N%% (90%% of",
                "                    writes to the first N%% of the working set)",
                "  wss=SIZE          working-set size, from guest-physical 4 MiB up",
                "  fill=1            first write every working-set page once (with rate=0: RAM",
                "                    full of data, a guest that then writes no more)",
                "It sends one heartbeat byte on COM1 per millisecond of guest time: migration",
                "measures the guest-observed blackout from the gaps. Example:",
                "  ferry vmm run --name web --memory 1G --control 127.0.0.1:7001 \\",
                "      --workload dirty:rate=64M,pattern=hotspot:10%%,wss=256M"})
final class VmmRunCommand implements Callable<Integer> {
    @Option(names = "--name", defaultValue = "ferry-vm", description = "The VM's name (default ${DEFAULT-VALUE}).")
    String name;

    @Option(names = "--memory", required = true, paramLabel = "SIZE", converter = Sizes.ByteSizeConverter.class,
            description = "Guest RAM, e.g. 256M or 4G (backed lazily: untouched pages cost nothing).")
    long memory;

    @Option(names = "--vcpus", defaultValue = "1", paramLabel = "N", description = "vCPUs (default ${DEFAULT-VALUE}).")
    int vcpus;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Boot boot;

    static final class Boot {
        @Option(names = "--boot-sector", paramLabel = "FILE",
                description = "A 512-byte PC boot sector, started in real mode at 0000:7C00 with DL=0x80.")
        Path bootSector;

        @Option(names = "--kernel", paramLabel = "FILE", description = "A Multiboot (v1) kernel.")
        Path kernel;

        @Option(names = "--payload", paramLabel = "FILE",
                description = "A flat 64-bit payload, entered in long mode at --entry (loaded at 0x100000).")
        Path payload;

        @Option(names = "--workload", paramLabel = "SPEC",
                description = "Ferry's workload guest, dirtying memory as SPEC says (see below).")
        String workload;
    }

    @Option(names = "--entry", paramLabel = "ADDRESS", description = "Entry address of a --payload (e.g. 0x100000).")
    String entry;

    @Option(names = "--cmdline", paramLabel = "TEXT", defaultValue = "", description = "Command line for a --kernel.")
    String cmdline;

    @Option(names = "--simulated", description = "Run the --workload on the simulator instead of KVM.")
    boolean simulated;

    @Option(names = "--serial", paramLabel = "TARGET", converter = SerialTarget.Converter.class,
            description = "COM1 output: stdio, file:PATH, unix:PATH or none (default: stdio, none for --workload).")
    SerialTarget serial;

    @Option(names = "--debugcon", paramLabel = "TARGET", converter = SerialTarget.Converter.class, defaultValue = "none",
            description = "Port 0xE9 output: stdio, file:PATH, unix:PATH or none (default ${DEFAULT-VALUE}).")
    SerialTarget debugcon;

    @Option(names = "--control", required = true, paramLabel = "HOST:PORT", converter = HostPort.Converter.class,
            description = "Where this VMM's control endpoint listens.")
    HostPort control;

    @Option(names = "--metrics", paramLabel = "HOST:PORT", converter = HostPort.Converter.class,
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics.")
    HostPort metrics;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        checkMemoryFitsHost("--memory", memory);
        MigratableVm vm = simulated ? simulatedVm() : kvmVm();
        vm.resume();
        return new VmmProcess(name, vm).serve(control, metrics, null);
    }

    private MigratableVm simulatedVm() {
        if (boot.workload == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--simulated runs only a --workload");
        }
        return new SimulatedVm(memory, vcpus, WorkloadSpec.parse(boot.workload));
    }

    private MigratableVm kvmVm() {
        BootSource source;
        String commandLine = cmdline;
        SerialTarget serialTarget = serial;
        if (boot.bootSector != null) {
            source = BootSector.fromFile(existing(boot.bootSector));
        } else if (boot.kernel != null) {
            source = MultibootKernel.fromFile(existing(boot.kernel));
        } else if (boot.payload != null) {
            if (entry == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--payload needs --entry ADDRESS");
            }
            source = new LongModePayload(BootSource.read(existing(boot.payload)), LongModePayload.DEFAULT_LOAD_ADDRESS,
                    parseAddress(entry));
        } else {
            source = new MultibootKernel(workloadGuest());
            commandLine = WorkloadSpec.parse(boot.workload).toGuestCommandLine();
            if (serialTarget == null) {
                serialTarget = SerialTarget.parse("none");
            }
        }
        if (serialTarget == null) {
            serialTarget = SerialTarget.parse("stdio");
        }
        VmConfig config = new VmConfig(name, memory, vcpus, source, serialTarget.open(), debugcon.open(), commandLine);
        return KvmVm.create(config);
    }

    /** The workload guest, assembled by the build into vmm's resources. */
    static byte[] workloadGuest() {
        try (InputStream in = KvmVm.class.getResourceAsStream("/guests/workload.elf")) {
            if (in == null) {
                throw new IllegalStateException("the workload guest is missing from the build (guests/workload.elf); rebuild with ./mvnw package");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Path existing(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "no such file: " + file);
        }
        return file;
    }

    private long parseAddress(String text) {
        try {
            return text.startsWith("0x") || text.startsWith("0X") ? Long.parseUnsignedLong(text.substring(2), 16) : Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--entry '" + text + "' is not an address");
        }
    }

    static void checkMemoryFitsHost(String option, long bytes) {
        long host = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
        if (bytes > host) {
            throw new IllegalArgumentException(option + " " + Units.bytes(bytes) + " is more than this host's "
                    + Units.bytes(host) + " of RAM");
        }
    }
}
