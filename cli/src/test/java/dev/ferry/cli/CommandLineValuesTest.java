package dev.ferry.cli;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CommandLineValuesTest {
    @Test
    void sizesTakeBinarySuffixes() {
        assertEquals(4096, Sizes.parseBytes("4096"));
        assertEquals(512L << 20, Sizes.parseBytes("512M"));
        assertEquals(1L << 30, Sizes.parseBytes("1G"));
        assertEquals(1L << 30, Sizes.parseBytes("1GiB"));
        assertEquals(100L << 10, Sizes.parseBytes("100k"));
    }

    @Test
    void badSizesAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sizes.parseBytes("12X"));
        assertTrue(e.getMessage().contains("'12X'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Sizes.parseBytes("-1"));
    }

    @Test
    void durationsTakeUnits() {
        assertEquals(Duration.ofMillis(300), Sizes.parseDuration("300ms"));
        assertEquals(Duration.ofMillis(1500), Sizes.parseDuration("1.5s"));
        assertEquals(Duration.ofMinutes(2), Sizes.parseDuration("2m"));
        assertThrows(IllegalArgumentException.class, () -> Sizes.parseDuration("300"));
    }

    @Test
    void hostPortsParseAndRefuseBadPorts() {
        assertEquals(new HostPort("127.0.0.1", 7000), HostPort.parse("127.0.0.1:7000"));
        assertEquals(new HostPort("::1", 7000), HostPort.parse("[::1]:7000"));
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("localhost"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HostPort.parse("h:70000"));
        assertTrue(e.getMessage().contains("out of range"), e.getMessage());
    }

    @Test
    void jsonEscapesAndWritesNulls() {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("status", "failed");
        value.put("error", "bad \"frame\"\n");
        value.put("guest_blackout_ms", null);
        value.put("rounds", 3);
        value.put("list", List.of(1.25, true));
        assertEquals("""
                {
                  "status": "failed",
                  "error": "bad \\"frame\\"\\n",
                  "guest_blackout_ms": null,
                  "rounds": 3,
                  "list": [
                    1.25,
                    true
                  ]
                }""", Json.write(value));
    }
}
