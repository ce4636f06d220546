package dev.ferry.cli;

import dev.ferry.vmm.devices.SerialSink;
import picocli.CommandLine;

import java.nio.file.Path;

/** Where a character device's output goes, as written on the command line: stdio, file:PATH, unix:PATH, none. */
record SerialTarget(String kind, Path path) {
    static SerialTarget parse(String text) {
        if (text.equals("stdio") || text.equals("none")) {
            return new SerialTarget(text, null);
        }
        if (text.startsWith("file:") && text.length() > 5) {
            return new SerialTarget("file", Path.of(text.substring(5)));
        }
        if (text.startsWith("unix:") && text.length() > 5) {
            return new SerialTarget("unix", Path.of(text.substring(5)));
        }
        throw new IllegalArgumentException("'" + text + "' is not stdio, none, file:PATH or unix:PATH");
    }

    SerialSink open() {
        return switch (kind) {
            case "stdio" -> SerialSink.stdout();
            case "file" -> SerialSink.file(path);
            case "unix" -> SerialSink.unixSocket(path);
            default -> SerialSink.none();
        };
    }

    static final class Converter implements CommandLine.ITypeConverter<SerialTarget> {
        @Override
        public SerialTarget convert(String value) {
            return parse(value);
        }
    }
}
