package dev.ferry.vmm.state;

/** Saved VM state this VMM cannot load: truncated, corrupt, from a newer VMM, or for other hardware. */
public final class StateFormatException extends RuntimeException {
    public StateFormatException(String message) {
        super(message);
    }

    public StateFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
