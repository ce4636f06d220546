package dev.ferry.bench;

import java.util.List;

/**
 * One migration the benchmark repeats: which engine, how much guest RAM, what the guest does, and the knobs.
 * {@code preallocated}: the destination backs its RAM before the migration ({@code ferry vmm incoming --prealloc},
 * QEMU's {@code -mem-prealloc}). {@code autoConverge}: throttle the guest once rounds stop shrinking (Ferry's
 * {@code --on-stall auto-converge}, QEMU's auto-converge capability). {@code counterpart} names the QEMU case a
 * Ferry case is compared with (null when there is none).
 */
record BenchCase(String name, Engine engine, long memoryBytes, GuestWorkload workload, Long maxDowntimeMs,
                 boolean bandwidthLifted, boolean preallocated, boolean autoConverge, String counterpart,
                 String meaning) {
    enum Engine { FERRY, QEMU }

    static final long MIB = 1L << 20;
    static final long GIB = 1L << 30;

    static List<BenchCase> all() {
        GuestWorkload rewrite = GuestWorkload.rewriting(100 * MIB);
        GuestWorkload full = GuestWorkload.filled(1000 * MIB);
        return List.of(
                new BenchCase("idle-1g", Engine.FERRY, GIB, GuestWorkload.IDLE, null, true, false, false, "qemu-idle-1g",
                        "Ferry, idle guest, 1 GiB, default settings"),
                new BenchCase("idle-4g", Engine.FERRY, 4 * GIB, GuestWorkload.IDLE, null, true, false, false, "qemu-idle-4g",
                        "Ferry, idle guest, 4 GiB, default settings"),
                new BenchCase("rewrite-100m", Engine.FERRY, GIB, rewrite, null, true, false, false, "qemu-rewrite-100m",
                        "Ferry, 1 GiB guest rewriting 100 MiB sequentially at full speed, default settings"),
                new BenchCase("rewrite-100m-10ms", Engine.FERRY, GIB, rewrite, 10L, true, false, false, "qemu-rewrite-100m-10ms",
                        "Ferry, the same guest, --max-downtime 10ms"),
                new BenchCase("rewrite-100m-10ms-ac", Engine.FERRY, GIB, rewrite, 10L, true, false, true,
                        "qemu-rewrite-100m-10ms-ac", "Ferry, the same guest, --max-downtime 10ms --on-stall auto-converge"),
                new BenchCase("full-1g", Engine.FERRY, GIB, full, null, true, true, false, "qemu-full-1g",
                        "Ferry, 1 GiB guest that wrote 1000 MiB once and then idles, default settings, "
                                + "destination started with --prealloc 1G"),
                new BenchCase("qemu-idle-1g", Engine.QEMU, GIB, GuestWorkload.IDLE, null, true, false, false, null,
                        "QEMU, idle guest, 1 GiB, max-bandwidth lifted"),
                new BenchCase("qemu-idle-4g", Engine.QEMU, 4 * GIB, GuestWorkload.IDLE, null, true, false, false, null,
                        "QEMU, idle guest, 4 GiB, max-bandwidth lifted"),
                new BenchCase("qemu-full-1g", Engine.QEMU, GIB, full, null, true, true, false, null,
                        "QEMU, 1 GiB guest that wrote 1000 MiB once and then idles, max-bandwidth lifted, "
                                + "destination started with -mem-prealloc"),
                new BenchCase("qemu-rewrite-100m-default", Engine.QEMU, GIB, rewrite, null, false, false, false, null,
                        "QEMU, rewriting guest, QEMU's defaults (bandwidth cap, 300 ms downtime limit)"),
                new BenchCase("qemu-rewrite-100m", Engine.QEMU, GIB, rewrite, null, true, false, false, null,
                        "QEMU, rewriting guest, max-bandwidth lifted"),
                new BenchCase("qemu-rewrite-100m-10ms", Engine.QEMU, GIB, rewrite, 10L, true, false, false, null,
                        "QEMU, rewriting guest, max-bandwidth lifted, downtime-limit 10 ms"),
                new BenchCase("qemu-rewrite-100m-10ms-ac", Engine.QEMU, GIB, rewrite, 10L, true, false, true, null,
                        "QEMU, rewriting guest, max-bandwidth lifted, downtime-limit 10 ms, auto-converge on"));
    }
}
