package dev.ferry.cli;

import dev.ferry.proto.v1.DumpMemoryRequest;
import dev.ferry.proto.v1.MemoryChunk;
import dev.ferry.proto.v1.PauseRequest;
import dev.ferry.proto.v1.QuitRequest;
import dev.ferry.proto.v1.ResumeRequest;
import dev.ferry.proto.v1.StatusRequest;
import dev.ferry.proto.v1.VmStatus;
import dev.ferry.proto.v1.VmmControlGrpc;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code ferry vmm ...}: run a VMM, or talk to a running one. */
@Command(name = "vmm", mixinStandardHelpOptions = true,
        description = "Run a VMM process, or control a running one.",
        subcommands = {VmmCommand.Status.class, VmmCommand.Pause.class,
                VmmCommand.Resume.class, VmmCommand.Quit.class, VmmCommand.DumpMemory.class})
final class VmmCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing subcommand");
    }

    /** A control call that answers with the VM's status, printed as text or JSON. */
    abstract static class StatusCall implements Callable<Integer> {
        @Mixin
        ControlOption control;

        @Option(names = "--json", description = "Print the status as JSON.")
        boolean json;

        abstract String action();

        abstract VmStatus call(VmmControlGrpc.VmmControlBlockingStub stub);

        @Override
        public Integer call() {
            try (ControlChannel channel = control.open()) {
                VmStatus status;
                try {
                    status = call(VmmControlGrpc.newBlockingStub(channel.channel()).withDeadlineAfter(30, TimeUnit.SECONDS));
                } catch (StatusRuntimeException e) {
                    throw channel.failure(action(), e);
                }
                System.out.print(json ? Json.write(VmStatusView.json(status)) + "\n" : VmStatusView.text(status));
                return 0;
            }
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Show a VMM's VM: state, memory, vCPUs, counters.")
    static final class Status extends StatusCall {
        String action() {
            return "status";
        }

        VmStatus call(VmmControlGrpc.VmmControlBlockingStub stub) {
            return stub.status(StatusRequest.getDefaultInstance());
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true, description = "Pause the VM's vCPUs.")
    static final class Pause extends StatusCall {
        String action() {
            return "pause";
        }

        VmStatus call(VmmControlGrpc.VmmControlBlockingStub stub) {
            return stub.pause(PauseRequest.getDefaultInstance());
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume the VM's vCPUs.")
    static final class Resume extends StatusCall {
        String action() {
            return "resume";
        }

        VmStatus call(VmmControlGrpc.VmmControlBlockingStub stub) {
            return stub.resume(ResumeRequest.getDefaultInstance());
        }
    }

    @Command(name = "quit", mixinStandardHelpOptions = true, description = "Stop the VM and end the VMM process.")
    static final class Quit extends StatusCall {
        String action() {
            return "quit";
        }

        VmStatus call(VmmControlGrpc.VmmControlBlockingStub stub) {
            return stub.quit(QuitRequest.getDefaultInstance());
        }
    }

    @Command(name = "dump-memory", mixinStandardHelpOptions = true,
            description = "Write guest-physical memory to a file as raw bytes (like QEMU's pmemsave).")
    static final class DumpMemory implements Callable<Integer> {
        @Mixin
        ControlOption control;

        @Option(names = "--out", required = true, paramLabel = "FILE", description = "The file to write.")
        Path out;

        @Option(names = "--offset", paramLabel = "BYTES", converter = Sizes.ByteSizeConverter.class,
                description = "Guest-physical start (default 0).")
        long offset;

        @Option(names = "--length", paramLabel = "BYTES", converter = Sizes.ByteSizeConverter.class,
                description = "Bytes to dump (default: to the end of RAM).")
        long length;

        @Override
        public Integer call() throws IOException {
            try (ControlChannel channel = control.open(); OutputStream file = Files.newOutputStream(out)) {
                long written = 0;
                try {
                    Iterator<MemoryChunk> chunks = VmmControlGrpc.newBlockingStub(channel.channel())
                            .dumpMemory(DumpMemoryRequest.newBuilder().setOffset(offset).setLength(length).build());
                    while (chunks.hasNext()) {
                        MemoryChunk chunk = chunks.next();
                        if (chunk.getOffset() != offset + written) {
                            throw new CliException("dump-memory failed: chunk at offset " + chunk.getOffset()
                                    + " where " + (offset + written) + " was expected");
                        }
                        chunk.getData().writeTo(file);
                        written += chunk.getData().size();
                    }
                } catch (StatusRuntimeException e) {
                    throw channel.failure("dump-memory", e);
                }
                System.err.println("wrote " + written + " bytes of guest memory from offset " + offset + " to " + out);
                return 0;
            }
        }
    }

}
