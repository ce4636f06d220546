package dev.ferry.vmm.memory;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.dirty.DirtyLogPort;
import dev.ferry.dirty.DirtyTracker;
import dev.ferry.vm.RamRegion;
import dev.ferry.vmm.GuestPrograms;
import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.VmConfig;
import dev.ferry.vmm.boot.LongModePayload;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The dirty-log port over real memory slots: guest writes show up, KVM_CLEAR_DIRTY_LOG re-arms. */
@RequiresKvm
class DirtyLogPortKvmTest {
    private static final byte[] WRITE_THREE_PAGES = GuestPrograms.writingOneByteTo(0x300000, 0x301000, 0x305000);

    @Test
    void guestWritesAppearInTheDirtyLogAndClearingReArmsThem() throws Exception {
        long load = LongModePayload.DEFAULT_LOAD_ADDRESS;
        try (KvmVm vm = KvmVm.create(VmConfig.of("dirty", 8 << 20, 1,
                new LongModePayload(WRITE_THREE_PAGES, load, load)))) {
            DirtyLogPort port = vm.dirtyLogPort();
            assertTrue(port.manualProtect(), "this host supports KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2");
            assertEquals(1, port.slotCount());
            long pages = port.slotPages(0);
            assertEquals(2048, pages);
            try (DirtyBitmap log = new DirtyBitmap(pages); DirtyBitmap all = new DirtyBitmap(pages)) {
                port.setLogging(0, true);
                port.getDirtyLog(0, log.words());
                assertEquals(pages, log.count(), "KVM_DIRTY_LOG_INITIALLY_SET: every page starts dirty");
                all.setAll();
                port.clearDirtyLog(0, 0, pages, all.words());
                log.clearAll();
                port.getDirtyLog(0, log.words());
                assertEquals(0, log.count(), "cleared pages are write-protected again and clean");

                vm.resume();
                assertTrue(vm.awaitStopped(Duration.ofSeconds(10)));
                log.clearAll();
                port.getDirtyLog(0, log.words());
                assertTrue(log.get(0x300), "page 0x300000 written by the guest");
                assertTrue(log.get(0x301));
                assertTrue(log.get(0x305));
                assertFalse(log.get(0x302), "page 0x302000 untouched");
                assertFalse(log.get(0x380));

                port.clearDirtyLog(0, 0, pages, log.words());
                DirtyBitmap again = new DirtyBitmap(pages);
                port.getDirtyLog(0, again.words());
                assertEquals(0, again.count(), "after KVM_CLEAR_DIRTY_LOG nothing is dirty until the next write");
                again.close();
                port.setLogging(0, false);
            }
        }
    }

    @Test
    void clearRangesMustStartOnA64PageBoundary() throws Exception {
        try (KvmVm vm = KvmVm.create(VmConfig.of("ranges", 1 << 20, 1, dev.ferry.vmm.boot.BootSource.nothing()));
             DirtyBitmap bits = new DirtyBitmap(256)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> vm.dirtyLogPort().clearDirtyLog(0, 3, 64, bits.words()));
            assertTrue(e.getMessage().contains("multiple of 64"), e.getMessage());
        }
    }

    @Test
    void memoryAbove3GiBGoesToASecondSlotAt4GiB() {
        assertEquals(List.of(new RamRegion(0, 0, 3L << 30), new RamRegion(1, 4L << 30, 1L << 30)),
                GuestMemory.layout(4L << 30));
        assertEquals(List.of(new RamRegion(0, 0, 1L << 30)), GuestMemory.layout(1L << 30));
    }

    @Test
    void theVmsDirtyTrackerSeesGuestWritesAndTheVmmsOwnWrites() throws Exception {
        long load = LongModePayload.DEFAULT_LOAD_ADDRESS;
        try (KvmVm vm = KvmVm.create(VmConfig.of("tracker", 8 << 20, 1,
                new LongModePayload(WRITE_THREE_PAGES, load, load)))) {
            DirtyTracker tracker = vm.dirtyTracker();
            assertEquals(2048, tracker.pageCount());
            tracker.start();
            try (DirtyBitmap dirty = new DirtyBitmap(tracker.pageCount())) {
                tracker.sync(dirty);
                assertEquals(2048, dirty.count(), "the first sync reports every page");
                tracker.rearm(dirty, 0, dirty.pages());
                dirty.clearAll();

                vm.resume();
                assertTrue(vm.awaitStopped(Duration.ofSeconds(10)));
                vm.memory().write(0x600010, new byte[] {1, 2, 3});
                tracker.sync(dirty);
                assertTrue(dirty.get(0x300) && dirty.get(0x301) && dirty.get(0x305), "guest writes");
                assertTrue(dirty.get(0x600), "the VMM's own write, recorded as a host write");
                assertFalse(dirty.get(0x302));
                assertFalse(dirty.get(0x601));
            } finally {
                tracker.stop();
            }
        }
    }
}
