package dev.ferry.vmm.devices;

import dev.ferry.vm.HeartbeatRing;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Uart16550Test {
    private static final int BASE = Uart16550.COM1;
    private final TextCapture out = new TextCapture();
    private final HeartbeatRing beats = new HeartbeatRing(16);
    private final ExitCounters counters = new ExitCounters();
    private final List<Boolean> irq = new ArrayList<>();
    private final Uart16550 uart = new Uart16550(BASE, out, beats, counters, irq::add);

    @Test
    void bytesWrittenToThrGoToTheSinkAndAreTimestamped() {
        for (char c : "ok\n".toCharArray()) {
            uart.write(BASE, 1, c);
        }
        assertEquals("ok\n", out.text());
        assertEquals(3, beats.count());
        assertEquals(3, counters.get(ExitCounters.SERIAL_BYTES));
    }

    @Test
    void theTransmitterIsAlwaysEmpty() {
        uart.write(BASE, 1, 'x');
        assertEquals(0x60, uart.read(BASE + 5, 1) & 0x60, "LSR: THRE and TEMT");
    }

    @Test
    void dlabSwitchesPortsZeroAndOneToTheDivisorLatch() {
        uart.write(BASE + 3, 1, 0x83);
        uart.write(BASE, 1, 0x01);
        uart.write(BASE + 1, 1, 0x00);
        assertEquals("", out.text(), "a divisor write is not a character");
        assertEquals(0x01, uart.read(BASE, 1));
        uart.write(BASE + 3, 1, 0x03);
        uart.write(BASE, 1, 'A');
        assertEquals("A", out.text());
        assertEquals(0x01, uart.state().dll());
    }

    @Test
    void receivedBytesAreReadFromRbrAndRaiseTheInterruptWhenEnabled() {
        uart.write(BASE + 4, 1, 0x08); // OUT2
        uart.write(BASE + 1, 1, 0x01); // IER: received data
        uart.receive((byte) 'k');
        assertTrue(irq.getLast());
        assertEquals(0x01, uart.read(BASE + 5, 1) & 0x01, "LSR: data ready");
        assertEquals(0x04, uart.read(BASE + 2, 1) & 0x0f, "IIR: received data");
        assertEquals('k', uart.read(BASE, 1));
        assertFalse(irq.getLast());
        assertEquals(0x01, uart.read(BASE + 2, 1) & 0x0f, "IIR: nothing pending");
    }

    @Test
    void scratchAndLoopbackBehaveLikeA16550() {
        uart.write(BASE + 7, 1, 0x5a);
        assertEquals(0x5a, uart.read(BASE + 7, 1));
        uart.write(BASE + 4, 1, 0x10 | 0x03); // loopback, DTR, RTS
        assertEquals(0x30, uart.read(BASE + 6, 1) & 0xf0, "MSR: CTS and DSR looped back");
        uart.write(BASE, 1, 'z');
        assertEquals("", out.text(), "in loopback nothing leaves the UART");
        assertEquals('z', uart.read(BASE, 1));
    }

    @Test
    void stateRoundTripsThroughPlainData() {
        uart.write(BASE + 3, 1, 0x1b);
        uart.write(BASE + 7, 1, 0x42);
        uart.receive((byte) 1);
        uart.receive((byte) 2);
        Uart16550.State state = uart.state();
        Uart16550 other = new Uart16550(BASE, SerialSink.none(), new HeartbeatRing(4), new ExitCounters(), InterruptLine.NONE);
        other.restore(state);
        assertEquals(state.lcr(), other.state().lcr());
        assertEquals(0x42, other.read(BASE + 7, 1));
        assertArrayEquals(new byte[] {1, 2}, other.state().rxFifo());
        assertEquals(1, other.read(BASE, 1));
    }
}
