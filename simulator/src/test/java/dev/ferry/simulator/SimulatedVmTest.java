package dev.ferry.simulator;

import dev.ferry.dirty.DirtyBitmap;
import dev.ferry.dirty.DirtyTracker;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RunState;
import dev.ferry.vm.VmShape;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SimulatedVmTest {
    private static final int PAGE = MigratableVm.PAGE_SIZE;

    @Test
    void goesThroughItsLifeAndReleasesMemoryOnStop() {
        SimulatedVm vm = new SimulatedVm(1 << 20, 1, WorkloadSpec.IDLE);
        assertEquals(RunState.CREATED, vm.runState());
        vm.pause();
        assertEquals(RunState.CREATED, vm.runState());
        vm.resume();
        assertEquals(RunState.RUNNING, vm.runState());
        vm.resume();
        vm.pause();
        vm.pause();
        assertEquals(RunState.PAUSED, vm.runState());
        vm.resume();
        assertEquals(RunState.RUNNING, vm.runState());
        MemorySegment memory = vm.ram().getFirst().memory();
        vm.close();
        assertEquals(RunState.STOPPED, vm.runState());
        assertThrows(IllegalStateException.class, () -> memory.get(JAVA_LONG, 0));
        assertThrows(IllegalStateException.class, vm::resume);
        vm.close();
    }

    @Test
    void fillWritesEveryWorkingSetPageOnceAndNothingElse() {
        try (SimulatedVm vm = new SimulatedVm(1 << 20, 2, WorkloadSpec.parse("dirty:rate=0,wss=64K,fill=1"))) {
            MemorySegment ram = vm.ram().getFirst().memory();
            for (long page = 0; page < (1 << 20) / PAGE; page++) {
                boolean written = ram.asSlice(page * PAGE, PAGE).mismatch(MemorySegment.ofArray(new byte[PAGE])) != -1;
                assertEquals(page < 16, written, "page " + page);
            }
        }
    }

    @Test
    void laysOutRamLikeTheKvmVmm() {
        VmShape small = SimulatedVm.shapeFor(64L << 20, 2);
        assertEquals(1, small.ram().size());
        assertEquals(0, small.ram().getFirst().guestPhysAddr());
        assertEquals("simulated", small.kind());
        assertEquals("simulated-v1", small.cpuFeatures());

        VmShape large = SimulatedVm.shapeFor(5L << 30, 1);
        assertEquals(2, large.ram().size());
        assertEquals(3L << 30, large.ram().get(0).size());
        assertEquals(4L << 30, large.ram().get(1).guestPhysAddr());
        assertEquals(2L << 30, large.ram().get(1).size());
    }

    @Test
    void largeRamIsBackedLazilyAndWritesReachTheHighSlot() {
        // 5 GiB mapped, about a hundred pages touched: only possible because the mapping is lazily backed.
        try (SimulatedVm vm = new SimulatedVm(5L << 30, 1, WorkloadSpec.parse("dirty:rate=4M"))) {
            DirtyTracker tracker = vm.dirtyTracker();
            tracker.start();
            DirtyBitmap dirty = new DirtyBitmap(tracker.pageCount());
            tracker.sync(dirty);
            dirty.clearAll();
            vm.resume();
            await().atMost(Duration.ofSeconds(5)).until(() -> vm.counters().get("pages_written") >= 50);
            vm.pause();
            tracker.sync(dirty);
            GuestRam high = vm.ram().get(1);
            long page = dirty.nextSetBit(high.firstPage());
            assertTrue(page >= 0, "no write landed in slot 1");
            assertTrue(nonZero(high.page(page)));
        }
    }

    @Test
    void pauseStopsEveryWrite() throws InterruptedException {
        try (SimulatedVm vm = new SimulatedVm(4 << 20, 2, WorkloadSpec.parse("dirty:rate=max"))) {
            vm.resume();
            await().atMost(Duration.ofSeconds(5)).until(() -> vm.counters().get("pages_written") > 10_000);
            vm.pause();
            long written = vm.counters().get("pages_written");
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment before = snapshot(vm, arena);
                Thread.sleep(150);
                assertEquals(-1, before.mismatch(snapshot(vm, arena)), "guest memory changed while paused");
            }
            assertEquals(written, vm.counters().get("pages_written"));
            vm.resume();
            await().atMost(Duration.ofSeconds(5)).until(() -> vm.counters().get("pages_written") > written);
        }
    }

    @Test
    void dirtyTrackingReportsExactlyThePagesThatChanged() throws InterruptedException {
        for (String spec : List.of("dirty:rate=max,pattern=hotspot:10%", "dirty:rate=64M,pattern=sequential",
                "dirty:rate=max,pattern=uniform,wss=1M")) {
            try (SimulatedVm vm = new SimulatedVm(4 << 20, 2, WorkloadSpec.parse(spec));
                 Arena arena = Arena.ofConfined()) {
                DirtyTracker tracker = vm.dirtyTracker();
                DirtyBitmap dirty = new DirtyBitmap(tracker.pageCount());
                tracker.start();
                assertEquals(tracker.pageCount(), tracker.sync(dirty), "the first sync reports every page");
                MemorySegment previous = snapshot(vm, arena);
                for (int round = 0; round < 3; round++) {
                    long before = vm.counters().get("pages_written");
                    vm.resume();
                    Thread.sleep(20);
                    await().atMost(Duration.ofSeconds(5)).until(() -> vm.counters().get("pages_written") > before);
                    vm.pause();
                    dirty.clearAll();
                    tracker.sync(dirty);
                    MemorySegment now = snapshot(vm, arena);
                    long changed = 0;
                    for (long page = 0; page < tracker.pageCount(); page++) {
                        boolean differs = previous.asSlice(page * PAGE, PAGE).mismatch(now.asSlice(page * PAGE, PAGE)) >= 0;
                        assertEquals(differs, dirty.get(page), spec + ": page " + page + " changed=" + differs);
                        changed += differs ? 1 : 0;
                    }
                    assertTrue(changed > 0, spec + ": nothing was written in round " + round);
                    previous = now;
                }
                dirty.close();
            }
        }
    }

    @Test
    void writesAtTheConfiguredRate() throws InterruptedException {
        record Case(String spec, int vcpus) {
        }
        for (Case c : List.of(new Case("dirty:rate=8M", 1), new Case("dirty:rate=40M,pattern=sequential", 1),
                new Case("dirty:rate=100M,pattern=hotspot:5%", 3))) {
            WorkloadSpec spec = WorkloadSpec.parse(c.spec());
            try (SimulatedVm vm = new SimulatedVm(16 << 20, c.vcpus(), spec)) {
                long start = System.nanoTime();
                vm.resume();
                Thread.sleep(1000);
                vm.pause();
                double wallMillis = (System.nanoTime() - start) / 1e6;
                // The rate holds in guest time (1 ms ticks), as in the KVM workload guest: a host too busy to
                // run a vCPU thread delays its ticks, and the guest owes nothing for time it never got.
                List<VcpuPosition> vcpus = SimulatedVmState.decode(vm.saveState()).vcpus();
                double expected = 0;
                for (VcpuPosition p : vcpus) {
                    expected += spec.rateBytesPerSecond() / (double) c.vcpus() * p.ticks() / 1000 / PAGE;
                    assertTrue(p.ticks() > wallMillis * 0.5 && p.ticks() <= wallMillis + 1,
                            c.spec() + ": " + p.ticks() + " ticks of guest time in " + wallMillis + " ms");
                }
                long written = vm.counters().get("pages_written");
                assertTrue(Math.abs(written - expected) <= expected * 0.10,
                        c.spec() + ": wrote " + written + " pages in " + vcpus.stream().mapToLong(VcpuPosition::ticks).sum()
                                + " vCPU-ms of guest time, expected " + (long) expected);
            }
        }
    }

    @Test
    void throttleTakesTheGuestOffTheCpuForItsShareOfEachPeriod() throws InterruptedException {
        WorkloadSpec spec = WorkloadSpec.parse("dirty:rate=40M");
        try (SimulatedVm vm = new SimulatedVm(16 << 20, 1, spec)) {
            vm.throttle(50);
            assertEquals(50, vm.counters().get("throttle_percent"));
            long start = System.nanoTime();
            vm.resume();
            Thread.sleep(700);
            vm.pause();
            double millis = (System.nanoTime() - start) / 1e6;
            long ticks = vm.counters().get("ticks");
            double running = ticks / millis;
            // Guest time (ticks) advances only in the running half of each period; a loaded host oversleeps.
            assertTrue(running > 0.3 && running < 0.65, "a 50% throttled guest ran " + running + " of the time");
            // Writes follow guest time, so the throttled guest dirties proportionally less.
            double perTick = spec.rateBytesPerSecond() / 1000.0 / PAGE;
            long written = vm.counters().get("pages_written");
            assertEquals(ticks * perTick, written, perTick + 1, "writes per tick of guest time");
            assertThrows(IllegalArgumentException.class, () -> vm.throttle(100));
            assertThrows(IllegalArgumentException.class, () -> vm.throttle(-1));
        }
    }

    @Test
    void heartbeatsStopWhilePaused() throws InterruptedException {
        try (SimulatedVm vm = new SimulatedVm(1 << 20, 2, WorkloadSpec.parse("dirty:rate=1M"))) {
            long begin = System.nanoTime();
            vm.resume();
            Thread.sleep(100);
            long pausing = System.nanoTime();
            vm.pause();
            long paused = System.nanoTime();
            long lastBeforePause = vm.heartbeats().lastNanos();
            Thread.sleep(200);
            long resuming = System.nanoTime();
            vm.resume();
            long resumed = System.nanoTime();
            Thread.sleep(100);
            vm.pause();
            long end = System.nanoTime();

            var heartbeats = vm.heartbeats();
            assertTrue(heartbeats.count() > 50, heartbeats.count() + " heartbeats in 200 ms of running");
            assertEquals(heartbeats.count(), vm.counters().get("ticks"));
            assertTrue(lastBeforePause <= paused && lastBeforePause >= begin);
            long firstAfterPause = heartbeats.firstNanosAfter(paused);
            assertTrue(firstAfterPause >= resuming, "a heartbeat arrived while paused");
            long gap = firstAfterPause - lastBeforePause;
            assertTrue(gap >= resuming - paused, "gap " + gap + " ns is shorter than the pause");
            // Slack for a loaded host: the first tick comes 1 ms after the vCPU thread is scheduled again.
            assertTrue(gap <= resumed - pausing + 100_000_000, "gap " + gap + " ns far exceeds the pause");
            assertTrue(heartbeats.largestGapNanos(begin, end) >= gap);
            assertEquals(-1, heartbeats.largestGapNanos(paused, resuming), "no heartbeats while paused");
            assertTrue(heartbeats.lastNanos() <= end && heartbeats.lastNanos() >= resumed);
            assertEquals(-1, heartbeats.firstNanosAfter(end));
        }
    }

    @Test
    void restoredVmContinuesTheSequenceWhereTheSourceStopped() throws InterruptedException {
        WorkloadSpec spec = WorkloadSpec.parse("dirty:rate=4M,pattern=sequential,wss=256K");
        try (SimulatedVm source = new SimulatedVm(1 << 20, 1, spec);
             SimulatedVm destination = new SimulatedVmFactory().create(source.shape())) {
            source.resume();
            await().atMost(Duration.ofSeconds(5)).until(() -> source.counters().get("pages_written") > 70);
            source.pause();
            byte[] state = source.saveState();
            VcpuPosition stopped = SimulatedVmState.decode(state).vcpus().getFirst();
            assertEquals(stopped.pagesWritten() % 64, stopped.nextSequentialPage(), "sequential over 64 pages");

            copyRam(source, destination);
            assertEquals(WorkloadSpec.IDLE, destination.workload());
            destination.loadState(state);
            assertEquals(spec, destination.workload());
            assertArrayEquals(state, destination.saveState(), "a loaded state saves back unchanged");

            destination.resume();
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> destination.counters().get("pages_written") >= stopped.pagesWritten() + 3);
            destination.pause();
            // The next three writes carry on from the source's position and stamps.
            for (int k = 0; k < 3; k++) {
                long written = stopped.pagesWritten() + k;
                long page = (stopped.nextSequentialPage() + k) % 64;
                long stamp = destination.ram().getFirst().page(page).get(JAVA_LONG, (written & 511) * 8);
                assertEquals(written << 16 | 1, stamp, "write " + written + " on page " + page);
            }
            VcpuPosition after = SimulatedVmState.decode(destination.saveState()).vcpus().getFirst();
            assertTrue(after.ticks() > stopped.ticks());
            assertEquals(after.pagesWritten() % 64, after.nextSequentialPage());
        }
    }

    @Test
    void samePositionWritesTheSamePages() {
        WorkloadSpec spec = WorkloadSpec.parse("dirty:rate=max,pattern=hotspot:20%,wss=2M");
        try (SimulatedVm a = new SimulatedVm(4 << 20, 2, spec); SimulatedVm b = new SimulatedVm(4 << 20, 2, spec);
             Arena arena = Arena.ofConfined()) {
            VcpuPosition start = new VcpuPosition(0, 0x1234_5678_9abcL, 10, 500, 0, 0);
            for (SimulatedVm vm : List.of(a, b)) {
                Workload workload = new Workload(spec, 2, vm.ram(), page -> { });
                workload.write(new VcpuCursor(start), 1, 5000);
            }
            MemorySegment left = snapshot(a, arena);
            assertEquals(-1, left.mismatch(snapshot(b, arena)));
            assertTrue(nonZero(left));
        }
    }

    @Test
    void stateIsOnlySavedAndLoadedWhileNotRunning() {
        try (SimulatedVm vm = new SimulatedVm(1 << 20, 1, WorkloadSpec.IDLE)) {
            byte[] created = vm.saveState();
            vm.resume();
            IllegalStateException e = assertThrows(IllegalStateException.class, vm::saveState);
            assertTrue(e.getMessage().contains("RUNNING"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> vm.loadState(created));
            vm.pause();
            vm.loadState(created);
        }
    }

    @Test
    void refusesForeignNewerOrDamagedState() {
        try (SimulatedVm vm = new SimulatedVm(1 << 20, 2, WorkloadSpec.IDLE);
             SimulatedVm other = new SimulatedVm(1 << 20, 3, WorkloadSpec.IDLE);
             SimulatedVm bigger = new SimulatedVm(2 << 20, 2, WorkloadSpec.IDLE)) {
            byte[] state = vm.saveState();
            assertRefused(vm, "KVMSTATE........".getBytes(), "magic \"FERRYSIM\"");
            byte[] newer = state.clone();
            newer[11] = 2;
            assertRefused(vm, newer, "version 2 is newer");
            byte[] damaged = state.clone();
            damaged[30] ^= 1;
            assertRefused(vm, damaged, "CRC32C");
            assertRefused(vm, java.util.Arrays.copyOf(state, state.length - 9), "CRC32C");
            assertRefused(other, state, "for 2 vCPUs, this VM has 3");
            assertRefused(bigger, state, "for 256 pages of RAM, this VM has 512");
        }
    }

    @Test
    void factoryBuildsEmptyVmsOfTheSimulatedKindOnly() {
        SimulatedVmFactory factory = new SimulatedVmFactory();
        VmShape kvm = new VmShape(SimulatedVm.shapeFor(1 << 20, 1).ram(), 1, "cpuid:abc", "kvm");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> factory.create(kvm));
        assertTrue(e.getMessage().contains("'kvm'"), e.getMessage());
        VmShape otherCpu = new VmShape(SimulatedVm.shapeFor(1 << 20, 1).ram(), 1, "simulated-v9", "simulated");
        assertThrows(IllegalArgumentException.class, () -> factory.create(otherCpu));

        VmShape shape = SimulatedVm.shapeFor(2 << 20, 2);
        try (SimulatedVm vm = factory.create(shape)) {
            assertEquals(RunState.CREATED, vm.runState());
            assertEquals(shape, vm.shape());
            assertTrue(!nonZero(vm.ram().getFirst().memory()), "a new VM's RAM is zero");
        }
    }

    @Test
    void workingSetMustFitInRam() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SimulatedVm(1 << 20, 1, WorkloadSpec.parse("dirty:wss=2M")));
        assertTrue(e.getMessage().contains("exceeds"), e.getMessage());
    }

    private static void assertRefused(SimulatedVm vm, byte[] state, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> vm.loadState(state));
        assertTrue(e.getMessage().contains(expected), () -> "message '" + e.getMessage() + "' lacks '" + expected + "'");
        assertNotEquals(RunState.STOPPED, vm.runState());
    }

    private static MemorySegment snapshot(SimulatedVm vm, Arena arena) {
        MemorySegment copy = arena.allocate(vm.shape().ramBytes());
        long offset = 0;
        for (GuestRam ram : vm.ram()) {
            copy.asSlice(offset, ram.region().size()).copyFrom(ram.memory());
            offset += ram.region().size();
        }
        return copy;
    }

    private static void copyRam(SimulatedVm from, SimulatedVm to) {
        for (int i = 0; i < from.ram().size(); i++) {
            to.ram().get(i).memory().copyFrom(from.ram().get(i).memory());
        }
    }

    private static boolean nonZero(MemorySegment segment) {
        for (long i = 0; i < segment.byteSize(); i += 8) {
            if (segment.get(JAVA_LONG, i) != 0) {
                return true;
            }
        }
        return false;
    }
}
