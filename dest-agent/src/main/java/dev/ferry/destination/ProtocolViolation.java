package dev.ferry.destination;

/** A frame the destination cannot accept; ends the session with this message as the reason. */
final class ProtocolViolation extends RuntimeException {
    ProtocolViolation(String message) {
        super(message, null, false, false);
    }
}
