package dev.ferry.vmm.guest;

import java.io.File;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One QEMU process running a guest under TCG, its COM1 and debug console captured in files and its
 * human monitor on a Unix socket. The baseline the Ferry VMM is compared against; closing it kills
 * the process.
 */
final class QemuRun implements AutoCloseable {
    static final String BINARY = "qemu-system-x86_64";
    private static final String PROMPT = "(qemu) ";
    private static final Duration MONITOR_DEADLINE = Duration.ofSeconds(10);

    private final Process process;
    private final Path serial;
    private final Path debugConsole;
    private final Path monitor;
    private final Path log;

    private QemuRun(Process process, Path serial, Path debugConsole, Path monitor, Path log) {
        this.process = process;
        this.serial = serial;
        this.debugConsole = debugConsole;
        this.monitor = monitor;
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
        Path monitor = directory.resolve("monitor.sock");
        Path log = directory.resolve("qemu.log");
        List<String> command = new ArrayList<>(List.of(binary.toString(),
                "-m", "128", "-display", "none", "-no-reboot", "-accel", "tcg",
                "-monitor", "unix:" + monitor + ",server=on,wait=off",
                "-serial", "file:" + serial, "-debugcon", "file:" + debugConsole));
        command.addAll(bootArguments);
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        return new QemuRun(process, serial, debugConsole, monitor, log);
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

    /** Runs one human-monitor command (such as {@code xp /4wx 0x400000}) and returns its output. */
    String monitor(String command) throws IOException, InterruptedException {
        long end = System.nanoTime() + MONITOR_DEADLINE.toNanos();
        try (SocketChannel channel = connectMonitor(end)) {
            channel.configureBlocking(false);
            readThroughPrompt(channel, end);
            channel.write(StandardCharsets.US_ASCII.encode(command + "\n"));
            return readThroughPrompt(channel, end);
        }
    }

    private SocketChannel connectMonitor(long end) throws IOException, InterruptedException {
        while (true) {
            try {
                return SocketChannel.open(UnixDomainSocketAddress.of(monitor));
            } catch (IOException notYet) {
                if (System.nanoTime() > end || !process.isAlive()) {
                    throw new IOException("QEMU monitor " + monitor + " did not accept: " + log(), notYet);
                }
                Thread.sleep(20);
            }
        }
    }

    private static String readThroughPrompt(SocketChannel channel, long end) throws IOException, InterruptedException {
        StringBuilder text = new StringBuilder();
        ByteBuffer buffer = ByteBuffer.allocate(4096);
        while (text.indexOf(PROMPT) < 0) {
            buffer.clear();
            int read = channel.read(buffer);
            if (read < 0) {
                throw new IOException("QEMU monitor closed; so far: " + text);
            }
            if (read == 0) {
                if (System.nanoTime() > end) {
                    throw new IOException("no QEMU monitor prompt; so far: " + text);
                }
                Thread.sleep(10);
                continue;
            }
            text.append(StandardCharsets.ISO_8859_1.decode(buffer.flip()));
        }
        return text.substring(0, text.indexOf(PROMPT));
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
