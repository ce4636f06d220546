package dev.ferry.vmm.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A {@code struct kvm_cpuid2} with its entries, off-heap: what KVM_GET_SUPPORTED_CPUID returns and
 * KVM_SET_CPUID2 takes. Owns its memory until {@link #close()}.
 */
public final class Cpuid implements AutoCloseable {
    private static final int FUNCTION = 0;
    private static final int INDEX = 4;
    private static final int EBX = 16;
    private static final int EDX = 24;

    private final Arena arena;
    private final MemorySegment table;

    Cpuid(int capacity) {
        this.arena = Arena.ofShared();
        this.table = arena.allocate(KvmStructs.CPUID2_HEADER_SIZE + (long) capacity * KvmStructs.CPUID_ENTRY2_SIZE, 8);
        table.set(JAVA_INT, 0, capacity);
    }

    MemorySegment segment() {
        return table;
    }

    public int entryCount() {
        return table.get(JAVA_INT, 0);
    }

    /** A copy of this table with entries already filled; the copy is independent. */
    public Cpuid copy() {
        Cpuid copy = new Cpuid(entryCount());
        MemorySegment.copy(table, 0, copy.table, 0, copy.table.byteSize());
        return copy;
    }

    /**
     * Puts {@code apicId} where the guest reads its own APIC id: leaf 1 EBX[31:24] (initial APIC id) and
     * EDX of every subleaf of the x2APIC topology leaves 0xB and 0x1F.
     */
    public void setApicId(int apicId) {
        for (int i = 0; i < entryCount(); i++) {
            long entry = KvmStructs.CPUID2_HEADER_SIZE + (long) i * KvmStructs.CPUID_ENTRY2_SIZE;
            int function = table.get(JAVA_INT, entry + FUNCTION);
            if (function == 1) {
                int ebx = table.get(JAVA_INT, entry + EBX);
                table.set(JAVA_INT, entry + EBX, (ebx & 0x00ffffff) | (apicId << 24));
            } else if (function == 0xB || function == 0x1F) {
                table.set(JAVA_INT, entry + EDX, apicId);
            }
        }
    }

    /** Register {@code register} (0 eax .. 3 edx) of leaf {@code function}/{@code index}, or -1 if absent. */
    public long register(int function, int index, int register) {
        for (int i = 0; i < entryCount(); i++) {
            long entry = KvmStructs.CPUID2_HEADER_SIZE + (long) i * KvmStructs.CPUID_ENTRY2_SIZE;
            if (table.get(JAVA_INT, entry + FUNCTION) == function && table.get(JAVA_INT, entry + INDEX) == index) {
                return table.get(JAVA_INT, entry + 12 + 4L * register) & 0xffffffffL;
            }
        }
        return -1;
    }

    /**
     * SHA-256 of the entries: a canonical name for the guest-visible CPU that source and destination compare.
     * The APIC id fields are zeroed first: KVM_GET_SUPPORTED_CPUID reports the id of whichever host CPU the
     * calling thread ran on, which says nothing about the guest's CPU.
     */
    public String digest() {
        try (Cpuid canonical = copy()) {
            canonical.setApicId(0);
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(canonical.table.asSlice(0, KvmStructs.CPUID2_HEADER_SIZE
                    + (long) entryCount() * KvmStructs.CPUID_ENTRY2_SIZE).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            return "sha256:" + HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
