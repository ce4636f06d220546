package dev.ferry.simulator;

/**
 * Where one simulated vCPU's workload stands: what a restored VM needs to continue exactly where the source
 * stopped.
 *
 * @param nextSequentialPage the page a sequential workload writes next (VM-wide page number)
 * @param xorshift           the random generator's state, never 0
 * @param ticks              1 ms ticks of guest time the vCPU has run
 * @param pagesWritten       page writes so far (also the stamp the next write stores)
 * @param pacingCredit       rate credit carried between ticks, in bytes x milliseconds-per-second
 * @param pendingPages       page writes due in the current tick but not yet made
 */
public record VcpuPosition(long nextSequentialPage, long xorshift, long ticks, long pagesWritten,
                           long pacingCredit, long pendingPages) {
    public VcpuPosition {
        if (xorshift == 0) {
            throw new IllegalArgumentException("xorshift state 0 (it would stay 0 for ever)");
        }
        if (nextSequentialPage < 0 || ticks < 0 || pagesWritten < 0 || pacingCredit < 0 || pendingPages < 0) {
            throw new IllegalArgumentException("negative field in " + this);
        }
    }
}
