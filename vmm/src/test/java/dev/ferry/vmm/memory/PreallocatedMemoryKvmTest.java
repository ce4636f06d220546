package dev.ferry.vmm.memory;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.vm.VmShape;
import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.KvmVmFactory;
import dev.ferry.vmm.VmConfig;
import dev.ferry.vmm.boot.BootSource;
import dev.ferry.vmm.devices.SerialSink;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A destination VM whose RAM was backed before it existed, as {@code ferry vmm incoming --prealloc} gives it. */
@RequiresKvm
class PreallocatedMemoryKvmTest {
    private static final long MIB = 1 << 20;

    @Test
    void theFirstVmThatFitsGetsMemoryThatIsBackedAndZero() {
        VmShape shape;
        try (KvmVm source = KvmVm.create(VmConfig.of("src", 8 * MIB, 1, BootSource.nothing()))) {
            shape = source.shape();
        }
        try (PreallocatedMemory reserve = PreallocatedMemory.back(12 * MIB, done -> { })) {
            KvmVmFactory factory = new KvmVmFactory("dest", SerialSink.none(), SerialSink.none(), reserve);
            try (KvmVm first = (KvmVm) factory.create(shape); KvmVm second = (KvmVm) factory.create(shape)) {
                assertTrue(first.memory().preallocated());
                assertFalse(reserve.available(), "taken once");
                assertEquals(8 * MIB, first.memory().size());
                assertEquals(shape.pageCount(), backedPages(first), "every page backed before the VM existed");
                assertTrue(allZero(first.memory().slice(0, 8 * MIB)), "preallocated memory is zero, as fresh memory is");

                assertFalse(second.memory().preallocated(), "the second VM gets fresh memory");
                assertEquals(0, backedPages(second));
            }
        }
    }

    @Test
    void aVmLargerThanThePreallocationGetsFreshMemoryAndReleasesIt() {
        try (PreallocatedMemory reserve = PreallocatedMemory.back(4 * MIB, done -> { });
             KvmVm vm = KvmVm.create(VmConfig.of("big", 8 * MIB, 1, BootSource.nothing()), reserve)) {
            assertFalse(vm.memory().preallocated());
            assertFalse(reserve.available(), "released rather than held beside the VM's own memory");
            assertEquals(0, backedPages(vm));
        }
    }

    private static long backedPages(KvmVm vm) {
        try (DirtyBitmap backed = new DirtyBitmap(vm.shape().pageCount())) {
            vm.memory().residentPages(backed);
            return backed.count();
        }
    }

    private static boolean allZero(MemorySegment memory) {
        for (long offset = 0; offset < memory.byteSize(); offset += 8) {
            if (memory.get(ValueLayout.JAVA_LONG_UNALIGNED, offset) != 0) {
                return false;
            }
        }
        return true;
    }
}
