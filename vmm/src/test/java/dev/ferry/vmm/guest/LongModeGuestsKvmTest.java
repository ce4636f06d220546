package dev.ferry.vmm.guest;

import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.VmConfig;
import dev.ferry.vmm.boot.LongModePayload;
import dev.ferry.vmm.devices.TextCapture;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The flat long-mode payloads under this VMM on real KVM. */
@RequiresKvm
class LongModeGuestsKvmTest {
    @Test
    void theTripleFaultPayloadAnnouncesItselfAndShutsTheVmDown() throws Exception {
        TextCapture debug = new TextCapture();
        long load = LongModePayload.DEFAULT_LOAD_ADDRESS;
        byte[] image = new GuestImage("triple-fault-longmode.bin").bytes();
        try (KvmVm vm = KvmVm.create(VmConfig.of("fault", 4 << 20, 1, new LongModePayload(image, load, load))
                .withDebugConsole(debug))) {
            vm.resume();
            assertTrue(vm.awaitStopped(Duration.ofSeconds(10)), "a triple fault stops the VM");
            String reason = vm.stopReason().orElseThrow();
            assertTrue(reason.startsWith("triple fault (KVM_EXIT_SHUTDOWN) at rip=0x"), reason);
            assertEquals("triple-fault: ud2 with an empty IDT\n", debug.text());
        }
    }
}
