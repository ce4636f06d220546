package dev.ferry.cli;

import dev.ferry.proto.v1.CancelRequest;
import dev.ferry.proto.v1.MigrationControlGrpc;
import dev.ferry.proto.v1.MigrationProgress;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

/** {@code ferry cancel}: cancels the source VMM's migration; the source VM keeps running. */
@Command(name = "cancel", mixinStandardHelpOptions = true,
        description = "Cancel the running migration of a source VMM; its VM keeps running and the destination cleans up.")
final class CancelCommand implements Callable<Integer> {
    @Mixin
    ControlOption control;

    @Override
    public Integer call() {
        try (ControlChannel channel = control.open()) {
            MigrationProgress progress;
            try {
                progress = MigrationControlGrpc.newBlockingStub(channel.channel()).cancel(CancelRequest.getDefaultInstance());
            } catch (StatusRuntimeException e) {
                throw channel.failure("cancel", e);
            }
            System.out.println("migration " + progress.getPhase());
            return 0;
        }
    }
}
