package dev.ferry.vmm;

import dev.ferry.vmm.boot.LongModePayload;
import dev.ferry.vmm.devices.I8042;
import dev.ferry.vmm.devices.TextCapture;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static dev.ferry.vmm.GuestPrograms.bytes;
import static dev.ferry.vmm.GuestPrograms.concat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Flat payloads entered directly in 64-bit mode. */
@RequiresKvm
class LongModeKvmTest {
    private static final long LOAD = LongModePayload.DEFAULT_LOAD_ADDRESS;

    @Test
    void sixtyFourBitCodeWritesToAPort() throws Exception {
        // mov rax, imm64 only exists in 64-bit mode; in 32-bit mode 0x48 is "dec eax" and the output differs.
        byte[] program = concat(
                bytes(0x48, 0xB8, 0, 0, 0, 0, 0, 0, 0x36, 0x34),  // mov rax, 0x3436000000000000
                bytes(0x48, 0xC1, 0xE8, 0x30),                     // shr rax, 48 -> ax = "64"
                bytes(0x66, 0xBA, 0xE9, 0x00),                     // mov dx, 0xe9
                bytes(0x66, 0xEF),                                 // out dx, ax
                GuestPrograms.RESET_VIA_I8042);
        TextCapture debug = new TextCapture();
        try (KvmVm vm = KvmVm.create(VmConfig.of("long", 4 << 20, 1, new LongModePayload(program, LOAD, LOAD))
                .withDebugConsole(debug))) {
            vm.resume();
            assertTrue(vm.awaitStopped(Duration.ofSeconds(10)));
            assertEquals(I8042.RESET_REASON, vm.stopReason().orElseThrow());
            assertEquals("64", debug.text());
        }
    }

    @Test
    void aTripleFaultStopsTheVmWithAClearError() throws Exception {
        // The loader leaves the IDT empty: ud2 raises #UD, which cannot be delivered, then #DF, then shutdown.
        byte[] program = bytes(0x90, 0x0F, 0x0B);
        try (KvmVm vm = KvmVm.create(VmConfig.of("fault", 4 << 20, 1, new LongModePayload(program, LOAD, LOAD)))) {
            vm.resume();
            assertTrue(vm.awaitStopped(Duration.ofSeconds(10)), "a triple fault must not hang the VMM");
            String reason = vm.stopReason().orElseThrow();
            assertTrue(reason.startsWith("triple fault (KVM_EXIT_SHUTDOWN) at rip=0x"), reason);
            assertTrue(reason.contains("rip=0x10000"), reason);
            assertTrue(vm.stoppedByError());
        }
    }

    @Test
    void unknownPortsReadAllOnesAndAreCounted() throws Exception {
        byte[] program = concat(
                bytes(0x66, 0xBA, 0x34, 0x12),  // mov dx, 0x1234
                bytes(0xEC),                    // in al, dx
                bytes(0xEE),                    // out dx, al
                bytes(0x66, 0xBA, 0xE9, 0x00),  // mov dx, 0xe9
                bytes(0xEE),                    // out dx, al: echo what the unknown port gave
                GuestPrograms.RESET_VIA_I8042);
        TextCapture debug = new TextCapture();
        try (KvmVm vm = KvmVm.create(VmConfig.of("ports", 4 << 20, 1, new LongModePayload(program, LOAD, LOAD))
                .withDebugConsole(debug))) {
            vm.resume();
            assertTrue(vm.awaitStopped(Duration.ofSeconds(10)));
            assertFalse(vm.stoppedByError(), vm.stopReason().orElse(""));
            assertEquals("\u00ff", debug.text());
            assertEquals(1, vm.counters().get("unknown_port_reads"));
            assertEquals(1, vm.counters().get("unknown_port_writes"));
        }
    }
}
