package dev.ferry.vmm.devices;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Named event counters, bumped on the vCPU threads without locks and read by status displays. */
public final class ExitCounters {
    public static final String IO_EXITS = "io_exits";
    public static final String MMIO_EXITS = "mmio_exits";
    public static final String HLT_EXITS = "hlt_exits";
    public static final String INTR_EXITS = "intr_exits";
    public static final String KICKS = "kicks";
    public static final String UNKNOWN_PORT_READS = "unknown_port_reads";
    public static final String UNKNOWN_PORT_WRITES = "unknown_port_writes";
    public static final String UNKNOWN_MMIO_READS = "unknown_mmio_reads";
    public static final String UNKNOWN_MMIO_WRITES = "unknown_mmio_writes";
    public static final String SERIAL_BYTES = "serial_bytes";
    public static final String DEBUG_PORT_BYTES = "debug_port_bytes";

    private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();

    public ExitCounters() {
        for (String name : new String[] {IO_EXITS, MMIO_EXITS, HLT_EXITS, INTR_EXITS, KICKS, UNKNOWN_PORT_READS,
                UNKNOWN_PORT_WRITES, UNKNOWN_MMIO_READS, UNKNOWN_MMIO_WRITES, SERIAL_BYTES, DEBUG_PORT_BYTES}) {
            counters.put(name, new LongAdder());
        }
    }

    public void increment(String name) {
        counters.computeIfAbsent(name, n -> new LongAdder()).increment();
    }

    public long get(String name) {
        LongAdder adder = counters.get(name);
        return adder == null ? 0 : adder.sum();
    }

    /** A sorted snapshot of every counter. */
    public Map<String, Long> snapshot() {
        Map<String, Long> snapshot = new TreeMap<>();
        counters.forEach((name, adder) -> snapshot.put(name, adder.sum()));
        return snapshot;
    }
}
