package dev.ferry.cli;

import dev.ferry.proto.v1.MigrationControlGrpc;
import dev.ferry.proto.v1.MigrationProgress;
import dev.ferry.proto.v1.MigrationStatusRequest;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code ferry status}: the source VMM's migration job, like {@code virsh domjobinfo}. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show the migration running on (or last run by) a source VMM: phase and counters.")
final class MigrationStatusCommand implements Callable<Integer> {
    @Mixin
    ControlOption control;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() {
        try (ControlChannel channel = control.open()) {
            MigrationProgress progress;
            try {
                progress = MigrationControlGrpc.newBlockingStub(channel.channel()).status(MigrationStatusRequest.getDefaultInstance());
            } catch (StatusRuntimeException e) {
                throw channel.failure("status", e);
            }
            if (json) {
                System.out.println(Json.write(MigrationReportView.progressJson(progress)));
            } else {
                System.out.println(MigrationReportView.progressLine(progress));
                if (progress.hasReport()) {
                    System.out.print(MigrationReportView.text(progress.getReport()));
                }
            }
            return 0;
        }
    }
}
