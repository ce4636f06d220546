package dev.ferry.cli;

import picocli.CommandLine.Option;

/** The {@code --control HOST:PORT} option of commands that talk to a running VMM. */
final class ControlOption {
    @Option(names = "--control", required = true, paramLabel = "HOST:PORT", converter = HostPort.Converter.class,
            description = "The VMM's control endpoint.")
    HostPort address;

    ControlChannel open() {
        return new ControlChannel(address);
    }
}
