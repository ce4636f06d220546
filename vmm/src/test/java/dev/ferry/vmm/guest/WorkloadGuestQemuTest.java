package dev.ferry.vmm.guest;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The guest images run under QEMU, the baseline VMM: the workload prints its configuration,
 * heartbeats at about 1 kHz and dirties pages at the requested rate (in guest time); the boot
 * sectors greet and triple-fault; the long-mode payload greets. Skipped, loudly, where QEMU is not
 * installed (with {@code FERRY_REQUIRE_QEMU=1}, as CI can set, they fail instead).
 */
class WorkloadGuestQemuTest {
    private static final Duration BOOT_DEADLINE = Duration.ofSeconds(30);
    private static final String WORKLOAD_ARGUMENTS = "rate=1048576 pattern=sequential wss=8388608";
    /** 1 MiB/s is 256 pages a second, and the guest reports once per 1000 ticks (a second of its time). */
    private static final int PAGES_PER_REPORT = 256;
    private static final Pattern REPORT = Pattern.compile("ferry-workload: ticks=(\\d+) pages=(\\d+)\n");
    /** Two seconds of guest time at 1 kHz is ~2000 heartbeats; a loaded host may lose a few. */
    private static final int MINIMUM_HEARTBEATS_IN_TWO_SECONDS = 300;

    private static Path qemu;

    @TempDir
    Path directory;

    @BeforeAll
    static void findQemu() {
        qemu = QemuRun.findBinary();
        if (qemu == null && "1".equals(System.getenv("FERRY_REQUIRE_QEMU"))) {
            fail("FERRY_REQUIRE_QEMU=1 but " + QemuRun.BINARY + " is not on PATH");
        }
        if (qemu == null) {
            System.err.println("*** QEMU not installed: skipping " + WorkloadGuestQemuTest.class.getSimpleName()
                    + " (apt-get install -y qemu-system-x86) ***");
        }
        assumeTrue(qemu != null, "QEMU not installed: skipping the QEMU guest tests");
    }

    @Test
    void theWorkloadPrintsItsConfigurationHeartbeatsAndDirtiesAtTheRequestedRate() throws Exception {
        Path kernel = new GuestImage("workload.elf").copyTo(directory);
        try (QemuRun run = QemuRun.start(qemu, directory,
                List.of("-kernel", kernel.toString(), "-append", WORKLOAD_ARGUMENTS + " report=1"))) {
            boolean twoSeconds = run.awaitOutput(r -> debugConsole(r).contains("ticks=2000 "), BOOT_DEADLINE);
            String debug = run.debugConsole();
            String serial = run.serial();
            assertTrue(twoSeconds, "two seconds of guest time; debug console:\n" + debug + "\nQEMU:\n" + run.log());

            String configuration = "ferry-workload rate=1048576 pattern=sequential wss=8388608 timer=pit";
            assertTrue(debug.startsWith(configuration), "debug console:\n" + debug);
            assertTrue(serial.startsWith(configuration), "the configuration also goes to COM1");

            long heartbeats = serial.chars().filter(c -> c == '.').count();
            assertTrue(heartbeats >= MINIMUM_HEARTBEATS_IN_TWO_SECONDS, heartbeats + " heartbeats");

            Matcher reports = REPORT.matcher(debug);
            long previous = 0;
            for (int second = 1; second <= 2; second++) {
                assertTrue(reports.find(), "report " + second + " in:\n" + debug);
                assertEquals(second * 1000L, Long.parseLong(reports.group(1)), "ticks");
                long pages = Long.parseLong(reports.group(2));
                // The accumulator is exact; a burst straddling the tick that reports may shift one page.
                assertTrue(Math.abs(pages - previous - PAGES_PER_REPORT) <= 1,
                        "pages written in second " + second + ": " + (pages - previous));
                previous = pages;
            }

            // The working set starts at 4 MiB; page n is the (n+1)th written by the sequential pattern.
            long[] firstPage = words(run.monitor("xp /3wx 0x400000"), 3);
            assertEquals(1, firstPage[0] & 1, "offset 0: the tick count | 1");
            assertEquals(1, firstPage[1], "offset 4: first page written");
            assertEquals(1, words(run.monitor("xp /1wx 0x400800"), 1)[0], "offset 2048: count | 1");
            assertEquals(11, words(run.monitor("xp /2wx 0x40a000"), 2)[1], "page 10 is the 11th written");
            long[] lastPage = words(run.monitor("xp /3wx 0xbff000"), 3);
            assertEquals(0, lastPage[0] | lastPage[1] | lastPage[2], "the last of 2048 pages waits for second 8");
        }
    }

    /** The values of an {@code xp /Nwx} answer, e.g. "0000000000400000: 0x00000bb9 0x00000001". */
    private static long[] words(String monitorOutput, int count) {
        Matcher line = Pattern.compile("[0-9a-f]{8,16}:((?: 0x[0-9a-f]{8})+)").matcher(monitorOutput);
        assertTrue(line.find(), "an xp answer in: " + monitorOutput);
        String[] values = line.group(1).trim().split(" ");
        assertEquals(count, values.length, monitorOutput);
        long[] words = new long[count];
        for (int i = 0; i < count; i++) {
            words[i] = Long.parseLong(values[i].substring(2), 16);
        }
        return words;
    }

    @Test
    void theWorkloadRunsOnTheLocalApicTimer() throws Exception {
        Path kernel = new GuestImage("workload.elf").copyTo(directory);
        try (QemuRun run = QemuRun.start(qemu, directory,
                List.of("-kernel", kernel.toString(), "-append", "timer=lapic heartbeat=1"))) {
            boolean ticking = run.awaitOutput(r -> serial(r).chars().filter(c -> c == '.').count() >= 300,
                    BOOT_DEADLINE);
            String debug = run.debugConsole();
            assertTrue(ticking, "heartbeats on the APIC timer; debug console:\n" + debug + "\nQEMU:\n" + run.log());
            assertTrue(debug.startsWith("ferry-workload rate=0 pattern=uniform wss=67108864 timer=lapic"), debug);
            assertTrue(debug.contains("ferry-workload: lapic timer "), "calibration reported:\n" + debug);
        }
    }

    /** Sizes arrive in plain bytes: the VMM translates "256M"; a guest given it must not run idle quietly. */
    @Test
    void theWorkloadRefusesAValueThatIsNotADecimalNumber() throws Exception {
        Path kernel = new GuestImage("workload.elf").copyTo(directory);
        try (QemuRun run = QemuRun.start(qemu, directory,
                List.of("-kernel", kernel.toString(), "-append", "rate=256M pattern=hotspot"))) {
            boolean refused = run.awaitOutput(r -> debugConsole(r).contains("halted\n"), BOOT_DEADLINE);
            String debug = run.debugConsole();
            assertTrue(refused, "debug console:\n" + debug + "\nQEMU:\n" + run.log());
            assertEquals("ferry-workload: bad value for rate: '256M'\nferry-workload: bad command line, halted\n",
                    debug);
            assertFalse(run.serial().contains("."), "no heartbeat from a refused configuration");
        }
    }

    @Test
    void theHelloBootSectorGreetsOnCom1() throws Exception {
        Path disk = new GuestImage("hello-bootsector.bin").copyTo(directory);
        String hello = "Hello from a Ferry boot sector\r\n";
        try (QemuRun run = QemuRun.start(qemu, directory, List.of("-drive", "format=raw,file=" + disk))) {
            boolean greeted = run.awaitOutput(r -> serial(r).contains(hello), BOOT_DEADLINE);
            assertTrue(greeted, "serial:\n" + run.serial() + "\nQEMU:\n" + run.log());
        }
    }

    /** QEMU cannot enter long mode for a flat payload; longmode-shim.elf does what Ferry's loader will. */
    @Test
    void theLongModePayloadGreetsOnceStartedInLongMode() throws Exception {
        Path shim = new GuestImage("longmode-shim.elf").copyTo(directory);
        Path payload = new GuestImage("hello-longmode.bin").copyTo(directory);
        try (QemuRun run = QemuRun.start(qemu, directory, List.of("-kernel", shim.toString(),
                "-device", "loader,file=" + payload + ",addr=0x100000,force-raw=on"))) {
            boolean done = run.awaitOutput(r -> debugConsole(r).equals("d"), BOOT_DEADLINE);
            assertTrue(done, "debug console: '" + run.debugConsole() + "'\nQEMU:\n" + run.log());
            assertEquals("Hello from long mode\r\n", run.serial());
        }
    }

    @Test
    void theTripleFaultBootSectorShutsTheMachineDown() throws Exception {
        Path disk = new GuestImage("triple-fault.bin").copyTo(directory);
        try (QemuRun run = QemuRun.start(qemu, directory, List.of("-drive", "format=raw,file=" + disk))) {
            // With -no-reboot QEMU exits on a triple fault instead of resetting.
            assertTrue(run.awaitExit(BOOT_DEADLINE), "QEMU still running: no shutdown\n" + run.log());
            assertTrue(run.debugConsole().contains("triple-fault: int3 with an empty IDT\n"),
                    "the boot sector ran first:\n" + run.debugConsole());
        }
    }

    private static String serial(QemuRun run) {
        try {
            return run.serial();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String debugConsole(QemuRun run) {
        try {
            return run.debugConsole();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
