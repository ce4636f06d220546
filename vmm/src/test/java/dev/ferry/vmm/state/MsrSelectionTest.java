package dev.ferry.vmm.state;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The MSR restore order the candidate list encodes. */
class MsrSelectionTest {
    private static final int[] KERNEL_LIST = {0x174, MsrSelection.IA32_TSC_DEADLINE, 0xc0000081, MsrSelection.IA32_TSC,
            0x277, MsrSelection.IA32_TSC_ADJUST};

    @Test
    void theTscComesFirstAndTheTscDeadlineLast() {
        int[] order = MsrSelection.candidates(KERNEL_LIST);
        assertEquals(MsrSelection.IA32_TSC, order[0]);
        assertEquals(MsrSelection.IA32_TSC_ADJUST, order[1]);
        assertEquals(MsrSelection.IA32_TSC_DEADLINE, order[order.length - 1]);
    }

    @Test
    void everyMsrAppearsOnceAndTheKernelsListKeepsItsOrder() {
        int[] order = MsrSelection.candidates(KERNEL_LIST);
        assertEquals(order.length, Arrays.stream(order).distinct().count());
        int[] kernelRest = Arrays.stream(order).filter(i -> i == 0x174 || i == 0xc0000081 || i == 0x277).toArray();
        assertEquals(3, kernelRest.length);
        assertTrue(Arrays.equals(new int[] {0x174, 0xc0000081, 0x277}, kernelRest));
        assertTrue(Arrays.stream(order).anyMatch(i -> i == MsrSelection.KVM_SYSTEM_TIME_NEW),
                "kvmclock is saved even when the kernel's list leaves it out");
    }
}
