package dev.ferry.vmm;

import dev.ferry.vm.RunState;
import dev.ferry.vmm.boot.BootSector;
import dev.ferry.vmm.devices.ExitCounters;
import dev.ferry.vmm.devices.I8042;
import dev.ferry.vmm.devices.TextCapture;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A boot sector booted as a PC BIOS would: it prints on the UART, then asks for a reset or halts. */
@RequiresKvm
class BootSectorKvmTest {
    @Test
    void aBootSectorPrintsOnTheSerialPortAndItsResetRequestStopsTheVm() throws Exception {
        TextCapture serial = new TextCapture();
        VmConfig config = VmConfig.of("boot", 2 << 20, 1,
                new BootSector(GuestPrograms.bootSectorPrinting("hello from 0x7c00\n", true))).withSerial(serial);
        try (KvmVm vm = KvmVm.create(config)) {
            assertEquals(RunState.CREATED, vm.runState());
            vm.resume();
            assertTrue(vm.awaitStopped(Duration.ofSeconds(10)), "the VM stops after the guest's reset request");
            assertEquals("hello from 0x7c00\n", serial.text());
            assertEquals(I8042.RESET_REASON, vm.stopReason().orElseThrow());
            assertFalse(vm.stoppedByError());
            assertEquals(18, vm.counters().get(ExitCounters.SERIAL_BYTES));
            assertEquals(18, vm.heartbeats().count(), "every serial byte is a heartbeat");
            assertTrue(vm.counters().get(ExitCounters.IO_EXITS) >= 19);
            assertThrows(IllegalStateException.class, vm::resume, "a stopped VM stays stopped");
        }
    }

    @Test
    void aGuestHaltedWithInterruptsOffStaysInTheKernelUntilTheVmIsStopped() throws Exception {
        TextCapture serial = new TextCapture();
        VmConfig config = VmConfig.of("halt", 2 << 20, 1,
                new BootSector(GuestPrograms.bootSectorPrinting("halting\n", false))).withSerial(serial);
        try (KvmVm vm = KvmVm.create(config)) {
            vm.resume();
            await().atMost(Duration.ofSeconds(10)).until(() -> serial.text().equals("halting\n"));
            vm.pause();
            assertEquals(RunState.PAUSED, vm.runState(), "a vCPU halted in the kernel is kicked out");
            vm.stop("test over");
            assertEquals(RunState.STOPPED, vm.runState());
            assertEquals("test over", vm.stopReason().orElseThrow());
        }
    }

    @Test
    void aBootSectorWithoutTheSignatureIsRefused() {
        byte[] sector = GuestPrograms.bootSectorPrinting("x", true);
        sector[511] = 0;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BootSector(sector));
        assertTrue(e.getMessage().contains("0x55 0xAA"), e.getMessage());
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class, () -> new BootSector(new byte[511]));
        assertTrue(size.getMessage().contains("exactly 512 bytes"), size.getMessage());
    }
}
