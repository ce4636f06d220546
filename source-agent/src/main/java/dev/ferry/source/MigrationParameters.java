package dev.ferry.source;

import dev.ferry.proto.v1.Compression;
import dev.ferry.proto.v1.MigrateRequest;
import dev.ferry.proto.v1.StallPolicy;

import java.time.Duration;

/**
 * How one migration runs; mirrors control.proto's MigrateRequest ({@link #from} converts, applying the
 * defaults for fields left at zero).
 *
 * @param maxDowntime             switch to stop-and-copy once the expected downtime is at most this
 * @param maxRounds               pre-copy rounds before giving up (the source keeps running)
 * @param bandwidthBytesPerSecond cap on pre-copy sending; 0 = none (the paused final phase is never capped)
 * @param autoConverge            throttle the guest from the second round on while it does not converge
 * @param compression             how non-zero pages travel
 * @param verify                  send per-page digests at the stop instant; the destination checks every page
 * @param keepSource              keep the source VMM (with its paused VM) after success; for the caller, the
 *                                engine itself never releases more than the VM's tracking
 * @param onStall                 what to do when the dirty set stops shrinking
 * @param timeout                 give up after this long, source running; {@link Duration#ZERO} = never
 */
public record MigrationParameters(Duration maxDowntime, int maxRounds, long bandwidthBytesPerSecond,
                                  boolean autoConverge, PageCompression compression, boolean verify,
                                  boolean keepSource, OnStall onStall, Duration timeout) {
    public static final Duration DEFAULT_MAX_DOWNTIME = Duration.ofMillis(300);
    public static final int DEFAULT_MAX_ROUNDS = 30;

    public enum PageCompression { NONE, LZ4 }

    public enum OnStall { WAIT, AUTO_CONVERGE, FAIL }

    public MigrationParameters {
        if (maxDowntime.isNegative() || maxDowntime.isZero()) {
            throw new IllegalArgumentException("max downtime must be positive, not " + maxDowntime);
        }
        if (maxRounds < 1) {
            throw new IllegalArgumentException("max rounds must be at least 1, not " + maxRounds);
        }
        if (bandwidthBytesPerSecond < 0) {
            throw new IllegalArgumentException("negative bandwidth cap " + bandwidthBytesPerSecond);
        }
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("negative timeout " + timeout);
        }
    }

    public static MigrationParameters defaults() {
        return new MigrationParameters(DEFAULT_MAX_DOWNTIME, DEFAULT_MAX_ROUNDS, 0, false, PageCompression.NONE,
                false, false, OnStall.WAIT, Duration.ZERO);
    }

    public static MigrationParameters from(MigrateRequest request) {
        return new MigrationParameters(
                request.getMaxDowntimeMs() == 0 ? DEFAULT_MAX_DOWNTIME : Duration.ofMillis(request.getMaxDowntimeMs()),
                request.getMaxRounds() == 0 ? DEFAULT_MAX_ROUNDS : request.getMaxRounds(),
                request.getBandwidthBytesPerS(),
                request.getAutoConverge(),
                request.getCompression() == Compression.COMPRESSION_LZ4 ? PageCompression.LZ4 : PageCompression.NONE,
                request.getVerify(),
                request.getKeepSource(),
                switch (request.getOnStall()) {
                    case STALL_POLICY_AUTO_CONVERGE -> OnStall.AUTO_CONVERGE;
                    case STALL_POLICY_FAIL -> OnStall.FAIL;
                    case STALL_POLICY_WAIT, STALL_POLICY_UNSPECIFIED, UNRECOGNIZED -> OnStall.WAIT;
                },
                Duration.ofMillis(request.getTimeoutMs()));
    }

    public MigrationParameters withMaxDowntime(Duration value) {
        return new MigrationParameters(value, maxRounds, bandwidthBytesPerSecond, autoConverge, compression, verify,
                keepSource, onStall, timeout);
    }

    public MigrationParameters withMaxRounds(int value) {
        return new MigrationParameters(maxDowntime, value, bandwidthBytesPerSecond, autoConverge, compression, verify,
                keepSource, onStall, timeout);
    }

    public MigrationParameters withBandwidth(long bytesPerSecond) {
        return new MigrationParameters(maxDowntime, maxRounds, bytesPerSecond, autoConverge, compression, verify,
                keepSource, onStall, timeout);
    }

    public MigrationParameters withAutoConverge(boolean value) {
        return new MigrationParameters(maxDowntime, maxRounds, bandwidthBytesPerSecond, value, compression, verify,
                keepSource, onStall, timeout);
    }

    public MigrationParameters withCompression(PageCompression value) {
        return new MigrationParameters(maxDowntime, maxRounds, bandwidthBytesPerSecond, autoConverge, value, verify,
                keepSource, onStall, timeout);
    }

    public MigrationParameters withVerify(boolean value) {
        return new MigrationParameters(maxDowntime, maxRounds, bandwidthBytesPerSecond, autoConverge, compression,
                value, keepSource, onStall, timeout);
    }

    public MigrationParameters withOnStall(OnStall value) {
        return new MigrationParameters(maxDowntime, maxRounds, bandwidthBytesPerSecond, autoConverge, compression,
                verify, keepSource, value, timeout);
    }

    public MigrationParameters withTimeout(Duration value) {
        return new MigrationParameters(maxDowntime, maxRounds, bandwidthBytesPerSecond, autoConverge, compression,
                verify, keepSource, onStall, value);
    }
}
