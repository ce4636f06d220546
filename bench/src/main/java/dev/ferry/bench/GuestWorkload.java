package dev.ferry.bench;

/**
 * What the workload guest does, in the two spellings the two VMMs take: Ferry's {@code --workload} spec and the
 * Multiboot command line that QEMU passes to the same {@code workload.elf} with {@code -append}.
 */
record GuestWorkload(String rate, String pattern, long wssBytes, boolean fill) {
    static final GuestWorkload IDLE = new GuestWorkload("0", "sequential", 0, false);

    static GuestWorkload rewriting(long wssBytes) {
        return new GuestWorkload("max", "sequential", wssBytes, false);
    }

    /** A guest that writes every page of its working set once at boot and then only keeps time. */
    static GuestWorkload filled(long wssBytes) {
        return new GuestWorkload("0", "sequential", wssBytes, true);
    }

    /** As the CLI documents it: {@code dirty:rate=0,wss=0} for an idle guest, sizes with a binary suffix. */
    String ferrySpec() {
        if (equals(IDLE)) {
            return "dirty:rate=0,wss=0";
        }
        String wss = wssBytes % BenchCase.MIB == 0 ? wssBytes / BenchCase.MIB + "M" : Long.toString(wssBytes);
        return "dirty:rate=" + rate + ",pattern=" + pattern + ",wss=" + wss + (fill ? ",fill=1" : "");
    }

    String multibootCommandLine() {
        return "rate=" + rate + " pattern=" + pattern + " wss=" + wssBytes + (fill ? " fill=1" : "");
    }
}
