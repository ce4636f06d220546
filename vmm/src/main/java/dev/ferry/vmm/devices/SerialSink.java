package dev.ferry.vmm.devices;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Where a character device's output goes: stdout, a file, a unix socket, memory, or nowhere. Written from
 * a vCPU thread one byte at a time; implementations must not block for long.
 */
public interface SerialSink extends AutoCloseable {
    void write(int b);

    /** Pushes buffered bytes out. */
    default void flush() {
    }

    @Override
    default void close() {
        flush();
    }

    static SerialSink none() {
        return b -> { };
    }

    /** Standard output, flushed at each newline. */
    static SerialSink stdout() {
        return of(System.out, false);
    }

    /** Appends to {@code file}, created if missing. */
    static SerialSink file(Path file) {
        try {
            return of(new BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, StandardOpenOption.APPEND)), true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open serial output file " + file, e);
        }
    }

    /** A unix-socket server at {@code path}: a client that connects (e.g. {@code socat - UNIX:path}) sees the output. */
    static SerialSink unixSocket(Path path) {
        return UnixSocketSerialSink.listen(path);
    }

    private static SerialSink of(OutputStream out, boolean owned) {
        return new SerialSink() {
            @Override
            public void write(int b) {
                try {
                    out.write(b);
                    if (b == '\n') {
                        out.flush();
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("serial output failed", e);
                }
            }

            @Override
            public void flush() {
                try {
                    out.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException("serial output failed", e);
                }
            }

            @Override
            public void close() {
                flush();
                if (owned) {
                    try {
                        out.close();
                    } catch (IOException e) {
                        throw new UncheckedIOException("serial output failed", e);
                    }
                }
            }
        };
    }
}
