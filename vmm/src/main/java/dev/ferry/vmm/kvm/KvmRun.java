package dev.ferry.vmm.kvm;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A flyweight over the vCPU's mmapped {@code struct kvm_run}: the exit reason and the exit-specific
 * union, read in place without copying.
 */
public final class KvmRun {
    public static final int EXIT_UNKNOWN = 0;
    public static final int EXIT_EXCEPTION = 1;
    public static final int EXIT_IO = 2;
    public static final int EXIT_HYPERCALL = 3;
    public static final int EXIT_DEBUG = 4;
    public static final int EXIT_HLT = 5;
    public static final int EXIT_MMIO = 6;
    public static final int EXIT_IRQ_WINDOW_OPEN = 7;
    public static final int EXIT_SHUTDOWN = 8;
    public static final int EXIT_FAIL_ENTRY = 9;
    public static final int EXIT_INTR = 10;
    public static final int EXIT_INTERNAL_ERROR = 17;
    public static final int EXIT_SYSTEM_EVENT = 24;

    public static final int IO_DIRECTION_IN = 0;
    public static final int IO_DIRECTION_OUT = 1;

    private static final long IMMEDIATE_EXIT = 1;
    private static final long EXIT_REASON = 8;
    private static final long UNION = 32;

    private final MemorySegment run;

    KvmRun(MemorySegment run) {
        this.run = run;
    }

    MemorySegment segment() {
        return run;
    }

    public int exitReason() {
        return run.get(JAVA_INT, EXIT_REASON);
    }

    public void setImmediateExit(boolean exit) {
        run.set(JAVA_BYTE, IMMEDIATE_EXIT, (byte) (exit ? 1 : 0));
    }

    public int ioDirection() {
        return run.get(JAVA_BYTE, UNION) & 0xff;
    }

    public int ioSize() {
        return run.get(JAVA_BYTE, UNION + 1) & 0xff;
    }

    public int ioPort() {
        return run.get(JAVA_SHORT, UNION + 2) & 0xffff;
    }

    public int ioCount() {
        return run.get(JAVA_INT, UNION + 4);
    }

    /** The bytes of the I/O exit: {@code size * count} bytes at {@code data_offset} inside kvm_run. */
    public MemorySegment ioData() {
        long offset = run.get(JAVA_LONG, UNION + 8);
        return run.asSlice(offset, (long) ioSize() * ioCount());
    }

    public long mmioPhysAddr() {
        return run.get(JAVA_LONG, UNION);
    }

    public MemorySegment mmioData() {
        return run.asSlice(UNION + 8, 8);
    }

    public int mmioLength() {
        return run.get(JAVA_INT, UNION + 16);
    }

    public boolean mmioIsWrite() {
        return run.get(JAVA_BYTE, UNION + 20) != 0;
    }

    public long failEntryReason() {
        return run.get(JAVA_LONG, UNION);
    }

    public int internalErrorSuberror() {
        return run.get(JAVA_INT, UNION);
    }

    /** How many words of {@link #internalErrorData} KVM filled in. */
    public int internalErrorDataCount() {
        return run.get(JAVA_INT, UNION + 4);
    }

    /** Word {@code index} (0..15) of the internal error's data. */
    public long internalErrorData(int index) {
        return run.get(JAVA_LONG, UNION + 8 + 8L * index);
    }

    public int systemEventType() {
        return run.get(JAVA_INT, UNION);
    }
}
