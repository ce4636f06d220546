package dev.ferry.vmm.devices;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LegacyPortsTest {
    @Test
    void port92ReadsBackWithTheResetBitClear() {
        A20Gate gate = new A20Gate();
        gate.write(0x92, 1, 0x03);
        assertEquals(0x02, gate.read(0x92, 1));
        A20Gate other = new A20Gate();
        other.restore(gate.state());
        assertEquals(0x02, other.read(0x92, 1));
    }

    @Test
    void i8042CommandFeIsAResetRequest() {
        List<String> resets = new ArrayList<>();
        I8042 controller = new I8042(resets::add);
        controller.write(I8042.STATUS_PORT, 1, 0x20);
        assertEquals(0x01, controller.read(I8042.STATUS_PORT, 1) & 0x01, "output buffer full");
        assertEquals(0x45, controller.read(I8042.DATA_PORT, 1), "the command byte");
        assertTrue(resets.isEmpty());
        controller.write(I8042.STATUS_PORT, 1, 0xFE);
        assertEquals(List.of(I8042.RESET_REASON), resets);
    }

    @Test
    void i8042OutputPortWithTheResetLineLowIsAResetRequestToo() {
        List<String> resets = new ArrayList<>();
        I8042 controller = new I8042(resets::add);
        controller.write(I8042.STATUS_PORT, 1, 0xD1);
        controller.write(I8042.DATA_PORT, 1, 0x02);
        assertEquals(1, resets.size());
        I8042 restored = new I8042(r -> { });
        restored.restore(controller.state());
        assertEquals(controller.state(), restored.state());
    }

    @Test
    void unclaimedPortsReadAllOnesAndAreCounted() {
        ExitCounters counters = new ExitCounters();
        IoBus bus = new IoBus(counters);
        TextCapture debug = new TextCapture();
        bus.register(DebugPort.PORT, 1, new DebugPort(debug, counters));
        assertEquals(0xff, bus.read(0x1234, 1));
        assertEquals(0xffff, bus.read(0x1234, 2));
        bus.write(0x1234, 1, 7);
        bus.write(DebugPort.PORT, 1, 'd');
        assertEquals("d", debug.text());
        assertEquals(2, counters.get(ExitCounters.UNKNOWN_PORT_READS));
        assertEquals(1, counters.get(ExitCounters.UNKNOWN_PORT_WRITES));
        assertThrows(IllegalArgumentException.class, () -> bus.register(DebugPort.PORT, 1, new PostPort()));
    }
}
