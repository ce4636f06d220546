package dev.ferry.source;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PausedSpeedupTest {
    @Test
    void aBusyVcpuOnAHostWithNoIdleCpuGivesItsCoreBackOncePaused() {
        // 4 cores all busy, one of them the vCPU's: the migration had 3, it gets 4.
        assertEquals(4.0 / 3, PausedSpeedup.of(4, 0, 1), 1e-9);
        // 2 cores, 0.1 idle, the vCPU on 0.5: 1.9 / 1.4.
        assertEquals(1.9 / 1.4, PausedSpeedup.of(2, 0.1, 0.5), 1e-9);
    }

    @Test
    void nothingIsGainedWhenTheHostHadCpuToSpareOrTheVcpusUsedNone() {
        assertEquals(1, PausedSpeedup.of(2, 0.5, 1));
        assertEquals(1, PausedSpeedup.of(2, 0, 0));
        assertEquals(1, PausedSpeedup.of(0, 0, 1));
    }

    @Test
    void theGainIsBoundedEvenWhenTheVcpusTookNearlyEveryCore() {
        assertEquals(PausedSpeedup.MAX, PausedSpeedup.of(2, 0, 1.9));
        assertEquals(PausedSpeedup.MAX, PausedSpeedup.of(2, 0, 3));
    }

    @Test
    void roundsShorterThanTheWindowAreMeasuredTogetherWithTheRoundsBefore() {
        AtomicLong vcpu = new AtomicLong();
        AtomicLong idle = new AtomicLong();
        PausedSpeedup speedup = new PausedSpeedup(vcpu::get, () -> 0, false, host(2, idle));
        // A long round: the vCPU ran on one core throughout, nothing idle.
        speedup.roundStarts();
        long start = System.nanoTime();
        sleepNanos(PausedSpeedup.MIN_WINDOW_NANOS);
        vcpu.addAndGet(System.nanoTime() - start);
        speedup.roundEnds();
        assertEquals(2, speedup.factor(), 0.2, "a preempted test thread may see a little less");
        // A short round in which the host idled a whole core and the vCPU nothing: alone it would say 1, but
        // the window still spans the long round, and over both the host was busy and the vCPU on about half.
        speedup.roundStarts();
        long shortStart = System.nanoTime();
        sleepNanos(PausedSpeedup.MIN_WINDOW_NANOS / 20);
        idle.addAndGet((System.nanoTime() - shortStart) / 10);
        speedup.roundEnds();
        double factor = speedup.factor();
        assertTrue(factor > 1.5 && factor <= 2, "factor " + factor);
    }

    @Test
    void aRemoteDestinationThatKeptTheSenderWaitingForWindowWasTheLimitButOneOnThisHostShares() {
        for (boolean onThisHost : new boolean[] {false, true}) {
            AtomicLong vcpu = new AtomicLong();
            AtomicLong waited = new AtomicLong();
            PausedSpeedup speedup = new PausedSpeedup(vcpu::get, waited::get, onThisHost, host(2, new AtomicLong()));
            speedup.roundStarts();
            long start = System.nanoTime();
            sleepNanos(PausedSpeedup.MIN_WINDOW_NANOS);
            long wall = System.nanoTime() - start;
            vcpu.addAndGet(wall);
            waited.addAndGet(wall / 2);
            speedup.roundEnds();
            assertEquals(onThisHost ? 2 : 1, speedup.factor(), 0.2, "destination on this host: " + onThisHost);
        }
    }

    @Test
    void loopbackAndThisHostsOwnAddressesAreThisHost() {
        assertTrue(PausedSpeedup.onThisHost("127.0.0.1:7000"));
        assertTrue(PausedSpeedup.onThisHost("[::1]:7000"));
        assertTrue(PausedSpeedup.onThisHost("localhost:7000"));
        assertFalse(PausedSpeedup.onThisHost("192.0.2.1:7000"));
        assertFalse(PausedSpeedup.onThisHost("no port"));
    }

    @Test
    void thisHostsProcStatGivesItsCoresAndAnIdleTimeThatOnlyGrows() {
        PausedSpeedup.ProcStat stat = PausedSpeedup.ProcStat.read();
        assertTrue(stat.cores() >= 1, "cores " + stat.cores());
        long idle = stat.idleNanos();
        assertTrue(idle >= 0, "idle " + idle);
        assertTrue(stat.idleNanos() >= idle);
    }

    @Test
    void aVmThatCannotTellItsVcpuTimeGainsNothing() {
        PausedSpeedup speedup = new PausedSpeedup(() -> -1, () -> 0, true, host(2, new AtomicLong()));
        speedup.roundStarts();
        speedup.roundEnds();
        assertEquals(1, speedup.factor());
    }

    private static PausedSpeedup.HostIdle host(int cores, AtomicLong idleNanos) {
        return new PausedSpeedup.HostIdle() {
            @Override
            public int cores() {
                return cores;
            }

            @Override
            public long idleNanos() {
                return idleNanos.get();
            }
        };
    }

    private static void sleepNanos(long nanos) {
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() < end) {
            LockSupport.parkNanos(end - System.nanoTime());
        }
    }
}
