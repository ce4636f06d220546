package dev.ferry.bench;

/**
 * What the workload guest does, in the two spellings the two VMMs take: Ferry's {@code --workload} spec and the
 * Multiboot command line that QEMU passes to the same {@code workload.elf} with {@code -append}.
 */
record GuestWorkload(String rate, String pattern, long wssBytes) {
    static final GuestWorkload IDLE = new GuestWorkload("0", "sequential", 0);

    static GuestWorkload rewriting(long wssBytes) {
        return new GuestWorkload("max", "sequential", wssBytes);
    }

    String ferrySpec() {
        return "dirty:rate=" + rate + ",pattern=" + pattern + ",wss=" + wssBytes;
    }

    String multibootCommandLine() {
        return "rate=" + rate + " pattern=" + pattern + " wss=" + wssBytes;
    }
}
