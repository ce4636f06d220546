package dev.ferry.vmm.memory;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.vmm.GuestPrograms;
import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.VmConfig;
import dev.ferry.vmm.boot.LongModePayload;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which pages may hold data, from /proc/self/pagemap: what a first migration round reads and what it skips. */
@RequiresKvm
class BackedPagesKvmTest {
    private static final byte[] WRITE_TWO_PAGES = GuestPrograms.writingOneByteTo(0x300000, 0x305000);

    @Test
    void pagesTheGuestOrTheVmmWroteAreBackedAndUntouchedOnesAreNot() throws Exception {
        long load = LongModePayload.DEFAULT_LOAD_ADDRESS;
        try (KvmVm vm = KvmVm.create(VmConfig.of("backed", 8 << 20, 1,
                new LongModePayload(WRITE_TWO_PAGES, load, load)))) {
            vm.memory().write(0x600000, new byte[] {7});
            vm.resume();
            assertTrue(vm.awaitStopped(Duration.ofSeconds(10)));
            try (DirtyBitmap backed = new DirtyBitmap(vm.shape().pageCount())) {
                vm.possiblyNonZeroPages(backed);
                assertTrue(backed.get(0x300), "page 0x300000 written by the guest");
                assertTrue(backed.get(0x305), "page 0x305000 written by the guest");
                assertTrue(backed.get(0x600), "page 0x600000 written by the VMM");
                assertTrue(backed.get(load >>> 12), "the loaded payload");
                assertFalse(backed.get(0x302), "page 0x302000 never touched");
                assertFalse(backed.get(0x7ff), "the last page, never touched");
            }
        }
    }
}
