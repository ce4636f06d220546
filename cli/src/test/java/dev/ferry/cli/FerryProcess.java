package dev.ferry.cli;

import dev.ferry.proto.v1.StatusRequest;
import dev.ferry.proto.v1.VmStatus;
import dev.ferry.proto.v1.VmmControlGrpc;
import io.grpc.StatusRuntimeException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@code ferry} command running as its own process, started from the test's classpath on the test's JVM,
 * exactly as the launcher would run it. Output goes to a log file kept for failure messages.
 */
final class FerryProcess implements AutoCloseable {
    private final Process process;
    private final Path log;
    private final String description;

    private FerryProcess(Process process, Path log, String description) {
        this.process = process;
        this.log = log;
        this.description = description;
    }

    static FerryProcess start(Path workDir, String... args) {
        List<String> command = ChildFerry.command(List.of(args));
        try {
            Files.createDirectories(workDir);
            Path log = Files.createTempFile(workDir, "ferry-", ".log");
            Process process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            return new FerryProcess(process, log, String.join(" ", args));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a ferry command to completion and returns its exit code; output is in {@link #output()}. */
    static FerryProcess run(Path workDir, Duration timeout, String... args) throws InterruptedException {
        FerryProcess command = start(workDir, args);
        if (!command.process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            command.close();
            throw new AssertionError("ferry " + command.description + " did not finish in " + timeout + ":\n" + command.output());
        }
        return command;
    }

    static int freePort() {
        return ChildFerry.freePort();
    }

    /** Waits until the control endpoint on {@code port} answers a status call, and returns that status. */
    VmStatus awaitControl(int port, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (ControlChannel channel = new ControlChannel(new HostPort("127.0.0.1", port))) {
            while (true) {
                if (!process.isAlive()) {
                    throw new AssertionError("ferry " + description + " exited with " + process.exitValue() + ":\n" + output());
                }
                try {
                    return VmmControlGrpc.newBlockingStub(channel.channel())
                            .withDeadlineAfter(2, TimeUnit.SECONDS).status(StatusRequest.getDefaultInstance());
                } catch (StatusRuntimeException e) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("ferry " + description + " never answered on port " + port + ":\n" + output(), e);
                    }
                    Thread.sleep(100);
                }
            }
        }
    }

    Process process() {
        return process;
    }

    int exitCode() {
        return process.exitValue();
    }

    boolean awaitExit(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    String output() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no output: " + e.getMessage() + ")";
        }
    }

    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                kill();
            }
        }
    }
}
