package dev.ferry.vmm.state;

/**
 * The sections the VMM itself writes, with the newest version of each that this VMM reads and writes.
 * A section whose layout changes gets a new version here and a reader for every older one.
 */
enum BuiltinSection {
    CLOCK("CLCK", "clock", 1, 48, false),
    IRQCHIP("IRQC", "irqchip", 1, 512, false),
    PIT("PIT2", "pit", 1, 112, false),
    REGS("REGS", "regs", 1, 144, true),
    SREGS("SREG", "sregs", 1, 312, true),
    XSAVE("XSAV", "xsave", 1, -1, true),
    XCRS("XCRS", "xcrs", 1, 392, true),
    MSRS("MSRS", "msrs", 1, -1, true),
    LAPIC("LAPC", "lapic", 1, 1024, true),
    VCPU_EVENTS("EVTS", "vcpu-events", 1, 64, true),
    MP_STATE("MPST", "mp-state", 1, 4, true),
    DEBUGREGS("DBRG", "debugregs", 1, 128, true);

    static final int VARIABLE_LENGTH = -1; // written as -1 above: enum constants cannot forward-reference it

    final String id;
    /** The name messages use. */
    final String label;
    final int version;
    /** The payload length every version so far has, or {@link #VARIABLE_LENGTH}. */
    final int length;
    /** Whether the section's instance number is a vCPU id (else a chip id or 0). */
    final boolean perVcpu;

    BuiltinSection(String id, String label, int version, int length, boolean perVcpu) {
        this.id = id;
        this.label = label;
        this.version = version;
        this.length = length;
        this.perVcpu = perVcpu;
    }

    static BuiltinSection byId(String id) {
        for (BuiltinSection section : values()) {
            if (section.id.equals(id)) {
                return section;
            }
        }
        return null;
    }
}
