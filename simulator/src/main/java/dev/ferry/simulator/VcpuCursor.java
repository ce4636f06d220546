package dev.ferry.simulator;

/**
 * The live, mutable form of a {@link VcpuPosition}, owned by its vCPU thread while it runs. Other threads
 * read or replace it only while the vCPU is parked (the gate's lock orders those accesses); the two
 * counters status displays read while it runs are volatile.
 */
final class VcpuCursor {
    long nextSequentialPage;
    long xorshift;
    long pacingCredit;
    long pendingPages;
    private volatile long ticks;
    private volatile long pagesWritten;

    VcpuCursor(VcpuPosition position) {
        restore(position);
    }

    long ticks() {
        return ticks;
    }

    long pagesWritten() {
        return pagesWritten;
    }

    /** Only its own vCPU thread advances these, so a plain read-modify-write is safe. */
    void tick() {
        ticks = ticks + 1;
    }

    void wrote(long pages) {
        pagesWritten = pagesWritten + pages;
    }

    VcpuPosition snapshot() {
        return new VcpuPosition(nextSequentialPage, xorshift, ticks, pagesWritten, pacingCredit, pendingPages);
    }

    void restore(VcpuPosition p) {
        nextSequentialPage = p.nextSequentialPage();
        xorshift = p.xorshift();
        pacingCredit = p.pacingCredit();
        pendingPages = p.pendingPages();
        ticks = p.ticks();
        pagesWritten = p.pagesWritten();
    }
}
