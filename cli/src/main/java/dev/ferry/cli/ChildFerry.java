package dev.ferry.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * How this process starts another {@code ferry} process: the same JVM and class path, with the JVM options
 * {@code ./ferry} uses (the {@value #JVM_OPTIONS} resource; the README of cli says why each is there).
 */
final class ChildFerry {
    static final String JVM_OPTIONS = "jvm.options";

    private ChildFerry() {
    }

    static List<String> command(List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(jvmOptions());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(FerryCommand.class.getName());
        command.addAll(args);
        return command;
    }

    /** The options of {@value #JVM_OPTIONS}: one per line, {@code #} starts a comment. */
    static List<String> jvmOptions() {
        try (InputStream in = ChildFerry.class.getResourceAsStream(JVM_OPTIONS)) {
            if (in == null) {
                throw new IllegalStateException(JVM_OPTIONS + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .map(line -> line.replaceFirst("#.*", "").strip())
                    .filter(option -> !option.isEmpty())
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A loopback port nobody listens on right now. */
    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
