package dev.ferry.simulator;

import dev.ferry.vm.HeartbeatRing;

import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * One simulated vCPU: a thread that runs the workload in 1 ms ticks of guest time while the gate is open.
 *
 * <p>Guest time advances only while the vCPU runs: after a pause or a throttle sleep the next tick is one
 * millisecond after the vCPU runs again, so a paused or throttled guest owes no writes for the time it did
 * not run, and vCPU 0's heartbeats show the gap. A thread starved of CPU catches up on lost ticks in a
 * burst, at most {@link #MAX_LAG_NANOS} of them, as a guest catches up on timer interrupts.
 *
 * <p>Throttle: within every 10 ms period the vCPU runs {@code 100 - percent}% and then sleeps the rest; if
 * it ran longer (a late wake-up on a busy host), it sleeps proportionally longer.
 */
final class SimulatedVcpu implements Runnable {
    static final long TICK_NANOS = 1_000_000;
    static final long THROTTLE_PERIOD_NANOS = 10_000_000;
    private static final long MAX_LAG_NANOS = 1_000_000_000;
    /** Pages written between two looks at the clock and the gate: a few microseconds of work. */
    private static final int BATCH = 256;

    private final int index;
    private final VcpuCursor cursor;
    private final VcpuGate gate;
    private final Supplier<Workload> workload;
    private final IntSupplier throttlePercent;
    private final HeartbeatRing heartbeats;

    /** @param heartbeats where this vCPU's ticks beat, or null (only vCPU 0 beats) */
    SimulatedVcpu(int index, VcpuCursor cursor, VcpuGate gate, Supplier<Workload> workload,
                  IntSupplier throttlePercent, HeartbeatRing heartbeats) {
        this.index = index;
        this.cursor = cursor;
        this.gate = gate;
        this.workload = workload;
        this.throttlePercent = throttlePercent;
        this.heartbeats = heartbeats;
    }

    @Override
    public void run() {
        try {
            loop();
        } finally {
            gate.exit();
        }
    }

    private void loop() {
        Workload w = null;
        boolean clockStopped = true;
        long nextTick = 0;
        long periodStart = 0;
        while (true) {
            if (gate.haltRequested()) {
                if (!gate.park()) {
                    return;
                }
                clockStopped = true;
            }
            long now = System.nanoTime();
            if (clockStopped) {
                w = workload.get();
                long opened = gate.openedNanos();
                nextTick = opened + TICK_NANOS;
                periodStart = opened;
                clockStopped = false;
            }

            int throttle = throttlePercent.getAsInt();
            long runNanos = THROTTLE_PERIOD_NANOS * (100 - throttle) / 100;
            long ran = now - periodStart;
            if (ran >= runNanos) {
                if (throttle > 0) {
                    // Sleep in proportion to the time actually run, so a late wake-up keeps the share.
                    gate.sleepUntil(now + ran * throttle / (100 - throttle));
                    long after = System.nanoTime();
                    nextTick += after - now;
                    periodStart = after;
                    continue;
                }
                periodStart = now;
            }

            if (now - nextTick >= 0) {
                if (now - nextTick > MAX_LAG_NANOS) {
                    nextTick = now;
                }
                cursor.tick();
                if (heartbeats != null) {
                    heartbeats.record(now);
                }
                w.tick(cursor, index);
                nextTick += TICK_NANOS;
                continue;
            }

            if (w.spec().isMaxRate()) {
                w.write(cursor, index, BATCH);
            } else if (cursor.pendingPages > 0) {
                long n = Math.min(cursor.pendingPages, BATCH);
                w.write(cursor, index, n);
                cursor.pendingPages -= n;
            } else {
                long wake = throttle > 0 ? Math.min(nextTick, periodStart + runNanos) : nextTick;
                gate.sleepUntil(wake);
            }
        }
    }
}
