package dev.ferry.cli;

import dev.ferry.proto.v1.Compression;
import dev.ferry.proto.v1.MigrateRequest;
import dev.ferry.proto.v1.MigrationReport;
import dev.ferry.proto.v1.StallPolicy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code ferry migrate}: asks the source VMM to migrate its VM live to the destination VMM. */
@Command(name = "migrate", mixinStandardHelpOptions = true,
        description = {"Migrate the source VMM's running VM to the destination VMM (started with `ferry vmm incoming`).",
                "Shows progress on a terminal; exits 0 only when the VM runs on the destination."})
final class MigrateCommand implements Callable<Integer> {
    enum OnStall {
        WAIT, AUTO_CONVERGE, FAIL;

        static final class Converter implements picocli.CommandLine.ITypeConverter<OnStall> {
            @Override
            public OnStall convert(String value) {
                return switch (value) {
                    case "wait" -> WAIT;
                    case "auto-converge" -> AUTO_CONVERGE;
                    case "fail" -> FAIL;
                    default -> throw new IllegalArgumentException("'" + value + "' is not one of wait, auto-converge, fail");
                };
            }
        }
    }

    enum CompressionChoice { none, lz4 }

    @Option(names = "--source", required = true, paramLabel = "HOST:PORT", converter = HostPort.Converter.class,
            description = "Control endpoint of the source VMM.")
    HostPort source;

    @Option(names = "--dest", required = true, paramLabel = "HOST:PORT", converter = HostPort.Converter.class,
            description = "Control endpoint of the destination VMM, as the source VMM reaches it.")
    HostPort destination;

    @Option(names = "--max-downtime", paramLabel = "DURATION", defaultValue = "300ms",
            converter = Sizes.DurationConverter.class,
            description = "Switch over when the expected downtime is below this (default ${DEFAULT-VALUE}).")
    Duration maxDowntime;

    @Option(names = "--max-rounds", paramLabel = "N", defaultValue = "30",
            description = "Give up after this many pre-copy rounds (default ${DEFAULT-VALUE}).")
    int maxRounds;

    @Option(names = "--bandwidth", paramLabel = "RATE", converter = Sizes.ByteSizeConverter.class,
            description = {"Cap pre-copy at RATE bytes per second (e.g. 512M), after an 8 MiB burst that measures the",
                    "uncapped link. The paused final phase is never capped."})
    long bandwidth;

    @Option(names = "--auto-converge", description = "Throttle the vCPUs harder each round while the guest dirties memory faster than the link.")
    boolean autoConverge;

    @Option(names = "--on-stall", paramLabel = "POLICY", defaultValue = "wait", converter = OnStall.Converter.class,
            description = "When rounds stop shrinking: wait, auto-converge or fail (default ${DEFAULT-VALUE}).")
    OnStall onStall;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Sizes.DurationConverter.class,
            description = "Cancel the migration after this long; the source keeps running.")
    Duration timeout;

    @Option(names = "--compress", paramLabel = "ALGORITHM", defaultValue = "none",
            description = "Page compression: none or lz4 (used per page only where it pays).")
    CompressionChoice compress;

    @Option(names = "--verify", description = "Compare digests of every page at the stop instant before the destination resumes."
                    + " The scan adds its measured time to the downtime, on top of --max-downtime.")
    boolean verify;

    @Option(names = "--keep-source", description = "Keep the source VMM (with its VM paused) after success instead of ending it.")
    boolean keepSource;

    @Option(names = "--json", description = "Print one final JSON report on stdout.")
    boolean json;

    @Override
    public Integer call() {
        MigrateRequest request = MigrateRequest.newBuilder()
                .setDestination(destination.toString())
                .setMaxDowntimeMs(maxDowntime.toMillis())
                .setMaxRounds(maxRounds)
                .setBandwidthBytesPerS(bandwidth)
                .setAutoConverge(autoConverge)
                .setOnStall(switch (onStall) {
                    case WAIT -> StallPolicy.STALL_POLICY_WAIT;
                    case AUTO_CONVERGE -> StallPolicy.STALL_POLICY_AUTO_CONVERGE;
                    case FAIL -> StallPolicy.STALL_POLICY_FAIL;
                })
                .setTimeoutMs(timeout == null ? 0 : timeout.toMillis())
                .setCompression(compress == CompressionChoice.lz4 ? Compression.COMPRESSION_LZ4 : Compression.COMPRESSION_NONE)
                .setVerify(verify)
                .setKeepSource(keepSource)
                .build();
        MigrationReport report = MigrationWatch.run(source, request, !json);
        System.out.print(json ? Json.write(MigrationReportView.json(report)) + "\n" : MigrationReportView.text(report));
        return "completed".equals(report.getStatus()) ? 0 : 1;
    }
}
