package dev.ferry.source;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** The migration's meters, named ferry.migration.*, on the registry the caller gives. */
final class MigrationMetrics {
    private final Counter zeroPages;
    private final Counter rawPages;
    private final Counter compressedPages;
    private final Counter bytes;
    private final Counter rounds;
    private final Counter batches;
    private final Timer downtime;
    private final Timer total;
    private final Timer setup;
    private final AtomicLong expectedDowntimeMicros = new AtomicLong();
    private final AtomicInteger throttle = new AtomicInteger();
    private final MeterRegistry registry;
    private final Gauge expectedDowntimeGauge;
    private final Gauge throttleGauge;

    MigrationMetrics(MeterRegistry registry) {
        zeroPages = pages(registry, "zero");
        rawPages = pages(registry, "raw");
        compressedPages = pages(registry, "lz4");
        bytes = Counter.builder("ferry.migration.bytes").baseUnit("bytes")
                .description("page payload bytes sent").register(registry);
        rounds = Counter.builder("ferry.migration.rounds").description("pre-copy rounds, the final one included")
                .register(registry);
        batches = Counter.builder("ferry.migration.batches").description("page batches sent").register(registry);
        downtime = Timer.builder("ferry.migration.downtime")
                .description("source vCPUs stopped to destination vCPUs running").register(registry);
        total = Timer.builder("ferry.migration.total").description("accepted to source released, either way")
                .register(registry);
        setup = Timer.builder("ferry.migration.setup").description("handshake and switchover probe")
                .register(registry);
        this.registry = registry;
        expectedDowntimeGauge = Gauge.builder("ferry.migration.expected.downtime", expectedDowntimeMicros,
                        v -> v.get() / 1e3)
                .baseUnit("milliseconds").strongReference(true).register(registry);
        throttleGauge = Gauge.builder("ferry.migration.throttle", throttle, AtomicInteger::get)
                .baseUnit("percent").strongReference(true).register(registry);
    }

    /**
     * Removes this migration's gauges: a registry keeps the first gauge of a name, so the next migration
     * registers its own only once these are gone.
     */
    void endGauges() {
        registry.remove(expectedDowntimeGauge);
        registry.remove(throttleGauge);
    }

    private static Counter pages(MeterRegistry registry, String kind) {
        return Counter.builder("ferry.migration.pages").tag("kind", kind).description("pages sent, by encoding")
                .register(registry);
    }

    void pages(long zero, long raw, long lz4, long payloadBytes) {
        zeroPages.increment(zero);
        rawPages.increment(raw);
        compressedPages.increment(lz4);
        bytes.increment(payloadBytes);
    }

    void batch() {
        batches.increment();
    }

    void round() {
        rounds.increment();
    }

    void downtime(long nanos) {
        downtime.record(Duration.ofNanos(nanos));
    }

    void total(long nanos) {
        total.record(Duration.ofNanos(nanos));
    }

    void setup(long nanos) {
        setup.record(Duration.ofNanos(nanos));
    }

    void expectedDowntime(double millis) {
        expectedDowntimeMicros.set(Double.isFinite(millis) ? (long) (millis * 1e3) : -1);
    }

    void throttle(int percent) {
        throttle.set(percent);
    }
}
