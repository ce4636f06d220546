package dev.ferry.vmm;

import dev.ferry.vm.RunState;
import dev.ferry.vmm.boot.LongModePayload;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

import static dev.ferry.vmm.GuestPrograms.bytes;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pause and resume while the guest spins inside KVM_RUN without ever exiting on its own. */
@RequiresKvm
class PauseKvmTest {
    static final long COUNTER = 0x200000;
    /** loop: inc qword [0x200000]; jmp loop */
    static final byte[] SPIN = bytes(0x48, 0xFF, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0xEB, 0xF6);

    @Test
    void pauseTakesEffectWhileTheGuestBusyLoopsAndResumeContinuesIt() throws Exception {
        long load = LongModePayload.DEFAULT_LOAD_ADDRESS;
        try (KvmVm vm = KvmVm.create(VmConfig.of("spin", 4 << 20, 1, new LongModePayload(SPIN, load, load)))) {
            MemorySegment counter = vm.memory().slice(COUNTER, 8);
            vm.resume();
            await().atMost(Duration.ofSeconds(10)).until(() -> counter.get(JAVA_LONG, 0) > 1000);
            for (int round = 0; round < 3; round++) {
                long before = System.nanoTime();
                vm.pause();
                long latency = System.nanoTime() - before;
                assertEquals(RunState.PAUSED, vm.runState());
                long frozen = counter.get(JAVA_LONG, 0);
                Thread.sleep(50);
                assertEquals(frozen, counter.get(JAVA_LONG, 0), "a paused vCPU runs no guest code");
                System.out.printf("pause latency (busy-looping guest): %.1f us%n", latency / 1000.0);
                vm.resume();
                await().atMost(Duration.ofSeconds(10)).until(() -> counter.get(JAVA_LONG, 0) > frozen);
            }
            vm.pause();
            vm.pause(); // idempotent
            assertEquals(RunState.PAUSED, vm.runState());
        }
    }

    @Test
    void theVcpusCpuTimeGrowsWhileTheGuestSpinsAndStandsStillWhilePaused() throws Exception {
        long load = LongModePayload.DEFAULT_LOAD_ADDRESS;
        try (KvmVm vm = KvmVm.create(VmConfig.of("cpu-time", 4 << 20, 1, new LongModePayload(SPIN, load, load)))) {
            vm.resume();
            long start = vm.vcpuCpuNanos();
            long wallStart = System.nanoTime();
            Thread.sleep(300);
            long spun = vm.vcpuCpuNanos() - start;
            long wall = System.nanoTime() - wallStart;
            // A spinning vCPU is on a core whenever the host lets it: at least a fifth of the wall time even here.
            assertTrue(spun > wall / 5 && spun <= wall + 20_000_000L, "vCPU CPU " + spun + " ns in " + wall + " ns");
            vm.pause();
            long paused = vm.vcpuCpuNanos();
            Thread.sleep(200);
            assertTrue(vm.vcpuCpuNanos() - paused < 20_000_000L, "a paused vCPU thread uses no CPU");
        }
    }

    @Test
    void aThrottledGuestStillRunsAndCanBeUnthrottled() throws Exception {
        long load = LongModePayload.DEFAULT_LOAD_ADDRESS;
        try (KvmVm vm = KvmVm.create(VmConfig.of("throttle", 4 << 20, 1, new LongModePayload(SPIN, load, load)))) {
            MemorySegment counter = vm.memory().slice(COUNTER, 8);
            vm.throttle(90);
            vm.resume();
            await().atMost(Duration.ofSeconds(10)).until(() -> counter.get(JAVA_LONG, 0) > 1000);
            long kicks = vm.counters().get("kicks");
            Thread.sleep(100);
            assertTrue(vm.counters().get("kicks") > kicks, "the throttle kicks the vCPU every period");
            vm.throttle(0);
            long c = counter.get(JAVA_LONG, 0);
            await().atMost(Duration.ofSeconds(10)).until(() -> counter.get(JAVA_LONG, 0) > c);
            vm.pause();
            assertEquals(RunState.PAUSED, vm.runState());
        }
    }

    @Test
    void pausingAndResumingWhileTheGuestStopsTheVmNeverDeadlocks() throws Exception {
        byte[] program = GuestPrograms.concat(
                bytes(0xB9, 0x20, 0x4E, 0x00, 0x00),  // mov ecx, 20000
                bytes(0xE6, 0x80),                    // l: out 0x80, al
                bytes(0xFF, 0xC9),                    // dec ecx
                bytes(0x75, 0xFA),                    // jnz l
                GuestPrograms.RESET_VIA_I8042);
        long load = LongModePayload.DEFAULT_LOAD_ADDRESS;
        try (KvmVm vm = KvmVm.create(VmConfig.of("race", 4 << 20, 1, new LongModePayload(program, load, load)))) {
            vm.resume();
            Thread operator = Thread.ofPlatform().start(() -> {
                while (vm.runState() != RunState.STOPPED) {
                    vm.pause();
                    try {
                        vm.resume();
                    } catch (IllegalStateException stopped) {
                        return;
                    }
                    // Without a moment in the guest between a resume and the next pause, a fast host can keep
                    // kicking the vCPU out before it runs an instruction, and the guest never reaches its reset.
                    LockSupport.parkNanos(200_000);
                }
            });
            assertTrue(operator.join(Duration.ofSeconds(30)), "pause/resume racing the guest's reset finished");
            assertTrue(vm.awaitStopped(Duration.ofSeconds(10)));
            assertEquals("guest requested reset via i8042", vm.stopReason().orElseThrow());
        }
    }
}
