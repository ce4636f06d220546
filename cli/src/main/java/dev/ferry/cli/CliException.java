package dev.ferry.cli;

/** A failure the CLI reports as one line (with the stack trace only under --verbose). */
final class CliException extends RuntimeException {
    CliException(String message) {
        super(message);
    }

    CliException(String message, Throwable cause) {
        super(message, cause);
    }
}
