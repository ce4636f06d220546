package dev.ferry.vmm;

import dev.ferry.vmm.boot.BootSector;
import dev.ferry.vmm.boot.LongModePayload;
import dev.ferry.vmm.devices.TextCapture;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The small guest programs built from src/main/guest, booted by this VMM. The workload guest and the
 * long-mode triple-fault payload have their own tests in {@code dev.ferry.vmm.guest}.
 */
@RequiresKvm
class GuestImagesKvmTest {
    private static byte[] image(String name) throws IOException {
        try (InputStream in = GuestImagesKvmTest.class.getResourceAsStream("/guests/" + name)) {
            assertNotNull(in, "guest image /guests/" + name + " is on the classpath");
            return in.readAllBytes();
        }
    }

    @Test
    void theHelloBootSectorPrintsOnCom1() throws Exception {
        TextCapture serial = new TextCapture();
        try (KvmVm vm = KvmVm.create(VmConfig.of("hello", 2 << 20, 1, new BootSector(image("hello-bootsector.bin")))
                .withSerial(serial))) {
            vm.resume();
            await().atMost(Duration.ofSeconds(10)).until(() -> serial.text().contains("\n"));
            assertEquals("Hello from a Ferry boot sector\r\n", serial.text());
        }
    }

    @Test
    void theLongModePayloadPrintsOnCom1AndThePort() throws Exception {
        TextCapture serial = new TextCapture();
        TextCapture debug = new TextCapture();
        long load = LongModePayload.DEFAULT_LOAD_ADDRESS;
        try (KvmVm vm = KvmVm.create(VmConfig.of("lm", 4 << 20, 1,
                new LongModePayload(image("hello-longmode.bin"), load, load)).withSerial(serial).withDebugConsole(debug))) {
            vm.resume();
            await().atMost(Duration.ofSeconds(10)).until(() -> debug.text().length() == 1);
            assertEquals("Hello from long mode\r\n", serial.text());
            assertEquals("\u0064", debug.text());
        }
    }

}
