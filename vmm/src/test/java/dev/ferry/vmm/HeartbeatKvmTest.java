package dev.ferry.vmm;

import dev.ferry.vm.Heartbeats;
import dev.ferry.vmm.boot.LongModePayload;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A 64-bit guest that programs the in-kernel PIC and PIT for 1 kHz and writes one byte to COM1 per tick:
 * the heartbeat the blackout figure is measured from. A pause shows up as a gap at least as long.
 */
@RequiresKvm
class HeartbeatKvmTest {
    private static final long LOAD = LongModePayload.DEFAULT_LOAD_ADDRESS;

    static byte[] tickingGuest() {
        byte[] image = new byte[0x1000];
        int p = put(image, 0, 0x0F, 0x01, 0x1C, 0x25, 0x00, 0x01, 0x10, 0x00);   // lidt [0x100100]
        p = put(image, p, 0xB0, 0x11, 0xE6, 0x20, 0xB0, 0x20, 0xE6, 0x21,         // PIC: ICW1, vectors 0x20..
                0xB0, 0x04, 0xE6, 0x21, 0xB0, 0x01, 0xE6, 0x21,                   // ICW3, ICW4
                0xB0, 0xFE, 0xE6, 0x21);                                          // only IRQ 0 unmasked
        p = put(image, p, 0xB0, 0x34, 0xE6, 0x43, 0xB0, 0xA9, 0xE6, 0x40,         // PIT channel 0, mode 2,
                0xB0, 0x04, 0xE6, 0x40);                                          // divisor 1193: 1 kHz
        p = put(image, p, 0xFB);                                                  // sti
        put(image, p, 0xF4, 0xEB, 0xFD);                                          // idle: hlt; jmp idle
        put(image, 0x80, 0x66, 0xBA, 0xF8, 0x03, 0xB0, 0x2E, 0xEE,                // tick: '.' to COM1
                0xB0, 0x20, 0xE6, 0x20, 0x48, 0xCF);                              // EOI; iretq
        put(image, 0x100, 0xFF, 0x0F, 0x00, 0x02, 0x10, 0, 0, 0, 0, 0);           // IDTR: 0x100200, 256 gates
        put(image, 0x200 + 0x20 * 16, 0x80, 0x00, 0x08, 0x00, 0x00, 0x8E, 0x10, 0x00); // gate 0x20 -> 0x100080
        return image;
    }

    private static int put(byte[] image, int at, int... bytes) {
        for (int i = 0; i < bytes.length; i++) {
            image[at + i] = (byte) bytes[i];
        }
        return at + bytes.length;
    }

    @Test
    void timerInterruptsDriveHeartbeatsAndAPauseIsAGapInThem() throws Exception {
        try (KvmVm vm = KvmVm.create(VmConfig.of("beat", 4 << 20, 1, new LongModePayload(tickingGuest(), LOAD, LOAD)))) {
            Heartbeats beats = vm.heartbeats();
            vm.resume();
            await().atMost(Duration.ofSeconds(10)).until(() -> beats.count() >= 200);
            long pausedAt = System.nanoTime();
            vm.pause();
            long countWhilePaused = beats.count();
            Thread.sleep(200);
            assertEquals(countWhilePaused, beats.count(), "no heartbeat while paused");
            vm.resume();
            long resumedAt = System.nanoTime();
            await().atMost(Duration.ofSeconds(10)).until(() -> beats.count() >= countWhilePaused + 100);
            long gap = beats.largestGapNanos(pausedAt - 1_000_000_000L, System.nanoTime());
            System.out.printf("heartbeats: %d, largest gap around a 200 ms pause: %.1f ms, first beat %.2f ms after resume%n",
                    beats.count(), gap / 1e6, (beats.firstNanosAfter(resumedAt) - resumedAt) / 1e6);
            assertTrue(gap >= 200_000_000L, "the pause is a gap of at least 200 ms, was " + gap / 1e6 + " ms");
            assertTrue(beats.firstNanosAfter(resumedAt) >= resumedAt);
            assertTrue(vm.counters().get("serial_bytes") >= 300);
        }
    }
}
