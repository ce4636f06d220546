package dev.ferry.vmm.memory;

import dev.ferry.vmm.sys.Libc;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Backing memory ahead and handing it out once. */
class PreallocatedMemoryTest {
    private static final long MIB = 1 << 20;

    @Test
    void backsInStepsAndReportsEachStep() {
        List<Long> steps = new ArrayList<>();
        try (PreallocatedMemory memory = PreallocatedMemory.back(130 * MIB, steps::add)) {
            assertEquals(List.of(64 * MIB, 128 * MIB, 130 * MIB), steps);
            assertEquals(130 * MIB, memory.size());
            assertTrue(memory.available());
        }
    }

    @Test
    void handsOutItsFirstBytesOnce() {
        try (PreallocatedMemory memory = PreallocatedMemory.back(2 * MIB, done -> { })) {
            MemorySegment taken = memory.take(MIB);
            assertNotNull(taken);
            assertEquals(MIB, taken.byteSize());
            assertFalse(memory.available());
            assertNull(memory.take(MIB), "taken already");
            Libc.munmap(taken);
        }
    }

    @Test
    void aRequestLargerThanTheMemoryReleasesIt() {
        PreallocatedMemory memory = PreallocatedMemory.back(MIB, done -> { });
        assertNull(memory.take(2 * MIB));
        assertFalse(memory.available());
        memory.close();
    }

    @Test
    void refusesSizesThatAreNotWholePages() {
        assertThrows(IllegalArgumentException.class, () -> PreallocatedMemory.back(0, done -> { }));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PreallocatedMemory.back(MIB + 1, done -> { }));
        assertTrue(e.getMessage().contains("multiple of 4 KiB"), e.getMessage());
    }
}
