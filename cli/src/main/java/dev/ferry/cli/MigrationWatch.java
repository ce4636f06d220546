package dev.ferry.cli;

import dev.ferry.proto.v1.MigrateRequest;
import dev.ferry.proto.v1.MigrationControlGrpc;
import dev.ferry.proto.v1.MigrationProgress;
import dev.ferry.proto.v1.MigrationReport;
import io.grpc.StatusRuntimeException;

import java.util.Iterator;

/** Asks a source VMM to migrate and follows the progress stream to its report, drawing a bar on a terminal. */
final class MigrationWatch {
    private MigrationWatch() {
    }

    static MigrationReport run(HostPort source, MigrateRequest request, boolean showProgress) {
        ProgressLine line = new ProgressLine(showProgress);
        MigrationReport report = null;
        try (ControlChannel channel = new ControlChannel(source)) {
            try {
                Iterator<MigrationProgress> progress = MigrationControlGrpc.newBlockingStub(channel.channel()).migrate(request);
                while (progress.hasNext()) {
                    MigrationProgress p = progress.next();
                    line.show(MigrationReportView.progressLine(p));
                    if (p.hasReport()) {
                        report = p.getReport();
                    }
                }
            } catch (StatusRuntimeException e) {
                throw channel.failure("migrate", e);
            } finally {
                line.end();
            }
        }
        if (report == null) {
            throw new CliException("migrate failed: the source VMM ended the migration without a report");
        }
        return report;
    }
}
