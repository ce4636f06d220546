package dev.ferry.simulator;

import dev.ferry.vm.GuestRam;
import dev.ferry.vm.MigratableVm;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.LongConsumer;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * What the simulated vCPUs execute: page writes following a {@link WorkloadSpec}. Immutable; everything a
 * vCPU changes lives in its {@link VcpuCursor}, so a saved cursor continues the same sequence elsewhere.
 *
 * <p>Each write stores one 8-byte stamp, {@code pagesWritten << 16 | vcpu << 1 | 1} (never zero, different
 * every time), at word {@code pagesWritten % 512} of the page, then marks the page dirty: after the write, so
 * a tracker that reports the page also exposes the new contents.
 *
 * <p>Pacing: every 1 ms tick adds the vCPU's share of the rate (bytes per second) to its credit; a tick owes
 * {@code credit / (4096 * 1000)} pages and keeps the remainder, so the rate is exact over time whatever it is.
 */
final class Workload {
    private static final long PAGE = MigratableVm.PAGE_SIZE;
    /** Credit one page costs: bytes times ticks per second. */
    private static final long PAGE_CREDIT = PAGE * 1000;

    private final WorkloadSpec spec;
    private final int vcpus;
    private final long wssPages;
    private final long hotPages;
    private final long[] vcpuRate;
    private final MemorySegment[] memory;
    private final long[] regionEnd;
    private final long[] regionFirst;
    private final LongConsumer dirty;

    Workload(WorkloadSpec spec, int vcpus, List<GuestRam> ram, LongConsumer dirty) {
        long ramPages = ram.stream().mapToLong(r -> r.region().pages()).sum();
        this.spec = spec;
        this.vcpus = vcpus;
        this.wssPages = spec.wssPages(ramPages);
        if (wssPages > ramPages) {
            throw new IllegalArgumentException("workload working set of " + spec.wssBytes() + " bytes exceeds the VM's "
                    + ramPages * PAGE + " bytes of RAM");
        }
        this.hotPages = Math.max(1, wssPages * spec.hotPercent() / 100);
        this.vcpuRate = new long[vcpus];
        if (!spec.isMaxRate()) {
            long rate = spec.rateBytesPerSecond();
            for (int i = 0; i < vcpus; i++) {
                vcpuRate[i] = share(rate, i + 1) - share(rate, i);
            }
        }
        this.memory = new MemorySegment[ram.size()];
        this.regionFirst = new long[ram.size()];
        this.regionEnd = new long[ram.size()];
        for (int i = 0; i < ram.size(); i++) {
            memory[i] = ram.get(i).memory();
            regionFirst[i] = ram.get(i).firstPage();
            regionEnd[i] = regionFirst[i] + ram.get(i).region().pages();
        }
        this.dirty = dirty;
    }

    WorkloadSpec spec() {
        return spec;
    }

    long wssPages() {
        return wssPages;
    }

    /** Where vCPU {@code vcpu} starts: at the head of its stripe, with its own random seed. */
    VcpuPosition initialPosition(int vcpu) {
        long seed = mix(0x46455252594d4c31L + vcpu);
        return new VcpuPosition(stripeStart(vcpu), seed == 0 ? 1 : seed, 0, 0, 0, 0);
    }

    /**
     * Adds one tick's credit to what the vCPU owes. What it owes is capped at one second of its rate, as in
     * the workload guest: a vCPU too slow for its rate runs flat out instead of piling up a debt.
     */
    void tick(VcpuCursor cursor, int vcpu) {
        long credit = cursor.pacingCredit + vcpuRate[vcpu];
        long pages = credit / PAGE_CREDIT;
        cursor.pacingCredit = credit - pages * PAGE_CREDIT;
        cursor.pendingPages = Math.min(cursor.pendingPages + pages, Math.max(1, vcpuRate[vcpu] / PAGE));
    }

    void write(VcpuCursor cursor, int vcpu, long count) {
        long written = cursor.pagesWritten();
        long x = cursor.xorshift;
        long next = cursor.nextSequentialPage;
        long start = stripeStart(vcpu);
        long end = stripeEnd(vcpu);
        for (long n = 0; n < count; n++) {
            long page;
            switch (spec.pattern()) {
                case SEQUENTIAL -> {
                    page = next;
                    next = next + 1 >= end ? start : next + 1;
                }
                case HOTSPOT -> {
                    x = xorshift(x);
                    boolean hot = Math.unsignedMultiplyHigh(x, 100) < WorkloadSpec.HOT_WRITE_PERCENT;
                    x = xorshift(x);
                    page = Math.unsignedMultiplyHigh(x, hot ? hotPages : wssPages);
                }
                default -> {
                    x = xorshift(x);
                    page = Math.unsignedMultiplyHigh(x, wssPages);
                }
            }
            store(page, (written & 511) << 3, written << 16 | (long) (vcpu & 0x7fff) << 1 | 1);
            dirty.accept(page);
            written++;
        }
        cursor.xorshift = x;
        cursor.nextSequentialPage = next;
        cursor.wrote(count);
    }

    /** Writes every working-set page once (a stamp in its first word), as {@code fill=1} asks at start. */
    void fill() {
        for (long page = 0; page < wssPages; page++) {
            store(page, 0, page << 16 | 1);
            dirty.accept(page);
        }
    }

    private void store(long page, long offsetInPage, long value) {
        for (int r = 0; r < memory.length; r++) {
            if (page < regionEnd[r]) {
                memory[r].set(JAVA_LONG, (page - regionFirst[r]) * PAGE + offsetInPage, value);
                return;
            }
        }
        throw new IndexOutOfBoundsException("page " + page + " beyond guest RAM");
    }

    /** Sequential workloads give each vCPU its own stripe of the working set (all of it if too small). */
    private long stripeStart(int vcpu) {
        return wssPages < vcpus ? 0 : share(wssPages, vcpu);
    }

    private long stripeEnd(int vcpu) {
        return wssPages < vcpus ? wssPages : share(wssPages, vcpu + 1);
    }

    /** {@code floor(total * upTo / vcpus)} without overflow. */
    private long share(long total, int upTo) {
        return total / vcpus * upTo + total % vcpus * upTo / vcpus;
    }

    private static long xorshift(long x) {
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        return x;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
