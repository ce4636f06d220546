package dev.ferry.simulator;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkloadSpecTest {
    @Test
    void parsesRatePatternAndWorkingSetWithBinarySuffixes() {
        WorkloadSpec spec = WorkloadSpec.parse("dirty:rate=256M,pattern=hotspot:10%,wss=512M");
        assertEquals(256L << 20, spec.rateBytesPerSecond());
        assertEquals(WorkloadSpec.Pattern.HOTSPOT, spec.pattern());
        assertEquals(10, spec.hotPercent());
        assertEquals(512L << 20, spec.wssBytes());
        assertEquals(131072, spec.wssPages(1 << 20));
    }

    @Test
    void defaultsToMaxRateUniformOverAllOfRam() {
        WorkloadSpec spec = WorkloadSpec.parse("dirty:");
        assertTrue(spec.isMaxRate());
        assertEquals(WorkloadSpec.Pattern.UNIFORM, spec.pattern());
        assertEquals(0, spec.wssBytes());
        assertEquals(1000, spec.wssPages(1000));
        assertEquals(WorkloadSpec.IDLE, WorkloadSpec.parse("idle"));
    }

    @Test
    void acceptsMaxPlainBytesAndKilobytes() {
        WorkloadSpec spec = WorkloadSpec.parse("dirty:rate=MAX,pattern=sequential,wss=64K");
        assertTrue(spec.isMaxRate());
        assertEquals(WorkloadSpec.Pattern.SEQUENTIAL, spec.pattern());
        assertEquals(65536, spec.wssBytes());
        assertEquals(12345, WorkloadSpec.parse("dirty:rate=12345").rateBytesPerSecond());
        assertEquals(2L << 30, WorkloadSpec.parse("dirty:rate=2g").rateBytesPerSecond());
    }

    @Test
    void specStringRoundTrips() {
        for (String text : new String[] {"dirty:rate=256M,pattern=hotspot:10%,wss=512M",
                "dirty:rate=max,pattern=sequential,wss=0", "dirty:rate=12345,pattern=uniform,wss=3G",
                "dirty:rate=0,pattern=sequential,wss=1000M,fill=1"}) {
            WorkloadSpec spec = WorkloadSpec.parse(text);
            assertEquals(text, spec.toSpecString());
            assertEquals(spec, WorkloadSpec.parse(spec.toSpecString()));
        }
    }

    @Test
    void guestCommandLineUsesPlainBytes() {
        assertEquals("rate=268435456 pattern=hotspot hot=10 wss=536870912",
                WorkloadSpec.parse("dirty:rate=256M,pattern=hotspot:10%,wss=512M").toGuestCommandLine());
        assertEquals("rate=max pattern=sequential wss=3221225472",
                WorkloadSpec.parse("dirty:rate=max,pattern=sequential").toGuestCommandLine());
        assertEquals("rate=0 pattern=uniform wss=4096", WorkloadSpec.parse("dirty:rate=0,wss=4K").toGuestCommandLine());
        assertEquals("rate=0 pattern=uniform wss=4096 fill=1",
                WorkloadSpec.parse("dirty:rate=0,wss=4K,fill=1").toGuestCommandLine());
        assertFalse(WorkloadSpec.parse("dirty:rate=0,wss=4K,fill=0").fill());
    }

    @Test
    void errorsNameTheBadPart() {
        assertMessage("dirty:rate=12Q", "bad rate '12Q'");
        assertMessage("dirty:rate=-5M", "bad rate '-5M'");
        assertMessage("dirty:pattern=zigzag", "bad pattern 'zigzag'");
        assertMessage("dirty:pattern=hotspot:0%", "bad hotspot share 'hotspot:0%'");
        assertMessage("dirty:pattern=hotspot:150%", "bad hotspot share 'hotspot:150%'");
        assertMessage("dirty:pattern=hotspot:x%", "bad hotspot share 'hotspot:x%'");
        assertMessage("dirty:wss=lots", "bad wss 'lots'");
        assertMessage("dirty:wss=100", "bad wss '100'");
        assertMessage("dirty:speed=1M", "unknown key 'speed'");
        assertMessage("dirty:fill=yes", "bad fill 'yes'");
        assertMessage("dirty:rate=1M,rate=2M", "key 'rate' given twice");
        assertMessage("dirty:rate", "bad part 'rate'");
        assertMessage("dirty:rate=1M,", "bad part ''");
        assertMessage("rate=1M", "does not start with 'dirty:'");
        assertMessage("dirty:rate=99999999999G", "bad rate '99999999999G'");
        assertMessage("dirty:rate=1025G", "bad rate '1025G'");
    }

    private static void assertMessage(String spec, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WorkloadSpec.parse(spec));
        assertTrue(e.getMessage().contains(expected), () -> "message '" + e.getMessage() + "' lacks '" + expected + "'");
        assertTrue(e.getMessage().contains(spec), () -> "message '" + e.getMessage() + "' does not quote the spec");
    }
}
