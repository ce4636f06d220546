package dev.ferry.source;

import dev.ferry.proto.v1.MigrationReport;
import dev.ferry.proto.v1.RoundReport;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Prints what a 256 MiB VM's first round achieves over loopback (raw and LZ4). A figure to read, not a
 * timing assertion: the test only checks that each migration completes with identical memory.
 */
class LoopbackThroughputTest {
    private static final long MIB = 1 << 20;

    @Test
    void printsFirstRoundThroughputFor256MiB() throws Exception {
        migrate(32 * MIB, MigrationParameters.PageCompression.NONE, false); // warms up the JIT and Netty
        for (MigrationParameters.PageCompression compression : MigrationParameters.PageCompression.values()) {
            migrate(256 * MIB, compression, true);
        }
    }

    /** utime and stime of this process in clock ticks (USER_HZ, 100 on Linux). */
    private static long[] userAndSystemTicks() throws java.io.IOException {
        String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return new long[] {Long.parseLong(fields[11]), Long.parseLong(fields[12])};
    }

    private static void migrate(long ram, MigrationParameters.PageCompression compression, boolean print)
            throws Exception {
        {
            MemoryVm source = new MemoryVm(MemoryVm.shape(ram), 1, 0).fill(3);
            source.resume();
            try (MigrationBench bench = new MigrationBench()) {
                com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
                long cpuBefore = os.getProcessCpuTime();
                long[] ticksBefore = userAndSystemTicks();
                MigrationReport report = bench.migrate(source, MigrationParameters.defaults().withCompression(compression));
                double cpuSeconds = (os.getProcessCpuTime() - cpuBefore) / 1e9;
                long[] ticksAfter = userAndSystemTicks();
                assertEquals("completed", report.getStatus(), report.getError());
                SourceMigrationTest.assertSameMemory(source, bench.running.get());
                RoundReport first = report.getRoundReports(0);
                if (!print) {
                    return;
                }
                System.out.printf("256 MiB VM, %s: round 1 %d pages (%d zero) %.1f MiB on the wire in %.1f ms = %.0f MiB/s"
                                + " of RAM, %.0f MiB/s of payload; downtime %.2f ms, total %.1f ms;"
                                + " both agents used %.2f CPU-s (%.2f user, %.2f kernel) = %.0f MiB of RAM per CPU-second"
                                + " (load average %.1f)%n",
                        compression, first.getPages(), first.getZeroPages(), first.getBytes() / (double) MIB,
                        first.getDurationMs(), 256 / (first.getDurationMs() / 1e3),
                        first.getBytes() / (double) MIB / (first.getDurationMs() / 1e3),
                        report.getDowntimeMs(), report.getTotalMs(), cpuSeconds,
                        (ticksAfter[0] - ticksBefore[0]) / 100.0, (ticksAfter[1] - ticksBefore[1]) / 100.0, 256 / cpuSeconds,
                        os.getSystemLoadAverage());
            } finally {
                source.close();
            }
        }
    }
}
