package dev.ferry.vmm.guest;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One QEMU process running a guest under TCG, its COM1 and debug console captured in files. The
 * baseline the Ferry VMM is compared against; closing it kills the process.
 */
final class QemuRun implements AutoCloseable {
    static final String BINARY = "qemu-system-x86_64";

    private final Process process;
    private final Path serial;
    private final Path debugConsole;
    private final Path log;

    private QemuRun(Process process, Path serial, Path debugConsole, Path log) {
        this.process = process;
        this.serial = serial;
        this.debugConsole = debugConsole;
        this.log = log;
    }

    /** The QEMU binary on PATH, or null. */
    static Path findBinary() {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String directory : path.split(File.pathSeparator)) {
            Path candidate = Path.of(directory, BINARY);
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** Starts QEMU with the standard console wiring; bootArguments say what to boot (-kernel, -drive). */
    static QemuRun start(Path binary, Path directory, List<String> bootArguments) throws IOException {
        Path serial = directory.resolve("serial.out");
        Path debugConsole = directory.resolve("debugcon.out");
        Path log = directory.resolve("qemu.log");
        List<String> command = new ArrayList<>(List.of(binary.toString(),
                "-m", "128", "-display", "none", "-monitor", "none", "-no-reboot", "-accel", "tcg",
                "-serial", "file:" + serial, "-debugcon", "file:" + debugConsole));
        command.addAll(bootArguments);
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        return new QemuRun(process, serial, debugConsole, log);
    }

    String serial() throws IOException {
        return read(serial);
    }

    String debugConsole() throws IOException {
        return read(debugConsole);
    }

    /** Polls until the debug console or serial text satisfies the condition; false at the deadline. */
    boolean awaitOutput(Predicate<QemuRun> condition, Duration deadline) throws InterruptedException {
        long end = System.nanoTime() + deadline.toNanos();
        while (System.nanoTime() < end) {
            if (condition.test(this)) {
                return true;
            }
            if (!process.isAlive()) {
                return condition.test(this);
            }
            Thread.sleep(50);
        }
        return false;
    }

    boolean awaitExit(Duration deadline) throws InterruptedException {
        return process.waitFor(deadline.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** What QEMU itself printed, for failure messages. */
    String log() {
        try {
            return read(log);
        } catch (IOException e) {
            return "(no QEMU log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    private static String read(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "";
    }
}
