package dev.ferry.source;

/** Why a migration ends without success; {@code status} is the report's (failed or cancelled). */
final class MigrationFailure extends RuntimeException {
    private final String status;
    private final boolean destinationDeclined;

    private MigrationFailure(String status, String message, boolean destinationDeclined) {
        super(message, null, false, false);
        this.status = status;
        this.destinationDeclined = destinationDeclined;
    }

    static MigrationFailure failed(String message) {
        return new MigrationFailure("failed", message, false);
    }

    static MigrationFailure cancelled(String message) {
        return new MigrationFailure("cancelled", message, false);
    }

    /** The destination itself said Failed or Refused: it did not resume and discarded its VM. */
    static MigrationFailure declined(String message) {
        return new MigrationFailure("failed", message, true);
    }

    String status() {
        return status;
    }

    boolean destinationDeclined() {
        return destinationDeclined;
    }
}
