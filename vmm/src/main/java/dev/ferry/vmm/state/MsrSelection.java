package dev.ferry.vmm.state;

import dev.ferry.vmm.kvm.KvmStructs;
import dev.ferry.vmm.kvm.VcpuFd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Which MSRs a vCPU's saved state holds: every MSR KVM lists as savable (KVM_GET_MSR_INDEX_LIST) plus
 * the ones Linux guests depend on that some kernels leave off that list, kept only where KVM can read
 * them on this vCPU. The order is the restore order (see {@link VmStateSnapshotter#restore}).
 */
final class MsrSelection {
    static final int IA32_TSC = 0x10;
    static final int IA32_TSC_ADJUST = 0x3b;
    static final int IA32_TSC_DEADLINE = 0x6e0;
    static final int KVM_WALL_CLOCK = 0x11;
    static final int KVM_SYSTEM_TIME = 0x12;
    static final int KVM_WALL_CLOCK_NEW = 0x4b564d00;
    static final int KVM_SYSTEM_TIME_NEW = 0x4b564d01;

    /** Wanted whether or not the index list names them: time, syscall entry, memory types, features. */
    private static final int[] WANTED = {
            IA32_TSC, IA32_TSC_ADJUST,
            KVM_WALL_CLOCK_NEW, KVM_SYSTEM_TIME_NEW, KVM_WALL_CLOCK, KVM_SYSTEM_TIME,
            0x4b564d02, // MSR_KVM_ASYNC_PF_EN
            0x4b564d03, // MSR_KVM_STEAL_TIME
            0x4b564d04, // MSR_KVM_PV_EOI_EN
            0x174, 0x175, 0x176, // IA32_SYSENTER_CS, _ESP, _EIP
            0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, // STAR, LSTAR, CSTAR, SFMASK
            0xc0000102, // KERNEL_GS_BASE
            0xc0000103, // TSC_AUX
            0x277, // IA32_PAT
            0x1a0, // IA32_MISC_ENABLE
            0x2ff, // IA32_MTRR_DEF_TYPE
            0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f, // fixed MTRRs
            0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207, // variable MTRRs 0-3
            0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f, // variable MTRRs 4-7
            IA32_TSC_DEADLINE,
    };

    private MsrSelection() {
    }

    /**
     * The candidates in restore order: TSC then TSC_ADJUST first (the kvmclock MSRs below compute from
     * the TSC, and a host write of TSC_ADJUST leaves the TSC alone only once the TSC is set), then the
     * kernel's list, then the wanted ones it lacks, and TSC_DEADLINE last (it arms the LAPIC timer
     * against the TSC, so it must follow every MSR that moves the TSC).
     */
    static int[] candidates(int[] indexList) {
        Set<Integer> ordered = new LinkedHashSet<>();
        ordered.add(IA32_TSC);
        ordered.add(IA32_TSC_ADJUST);
        Arrays.stream(indexList).forEach(ordered::add);
        Arrays.stream(WANTED).forEach(ordered::add);
        ordered.remove(IA32_TSC_DEADLINE);
        ordered.add(IA32_TSC_DEADLINE);
        return ordered.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The candidates KVM_GET_MSRS can read on {@code vcpu}, one probe each (KVM stops at the first it cannot). */
    static int[] readable(VcpuFd vcpu, int[] candidates) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocate(KvmStructs.MSRS_HEADER_SIZE + KvmStructs.MSR_ENTRY_SIZE, 8);
            return Arrays.stream(candidates).filter(index -> {
                one.fill((byte) 0);
                one.set(JAVA_INT, 0, 1);
                one.set(JAVA_INT, KvmStructs.MSRS_HEADER_SIZE, index);
                return vcpu.getMsrs(one) == 1;
            }).toArray();
        }
    }
}
