package dev.ferry.vmm;

import dev.ferry.vm.RamRegion;
import dev.ferry.vm.RunState;
import dev.ferry.vm.VmShape;
import dev.ferry.vmm.boot.LongModePayload;
import dev.ferry.vmm.kvm.Cpuid;
import dev.ferry.vmm.kvm.Kvm;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A large, multi-vCPU VM: lazily backed memory, two slots around the hole, per-vCPU APIC ids. */
@RequiresKvm
class VmShapeKvmTest {
    @Test
    void aSixteenGibTwoVcpuVmCostsOnlyWhatItTouches() throws Exception {
        long before = residentKib();
        long load = LongModePayload.DEFAULT_LOAD_ADDRESS;
        try (KvmVm vm = KvmVm.create(VmConfig.of("big", 16L << 30, 2,
                new LongModePayload(PauseKvmTest.SPIN, load, load)))) {
            VmShape shape = vm.shape();
            assertEquals(List.of(new RamRegion(0, 0, 3L << 30), new RamRegion(1, 4L << 30, 13L << 30)), shape.ram());
            assertEquals(2, shape.vcpus());
            assertTrue(shape.cpuFeatures().startsWith("sha256:"));
            assertEquals(2, vm.ram().size());
            assertEquals((3L << 30) / 4096, vm.ram().get(1).firstPage());
            assertEquals(16L << 30, vm.dirtyTracker().pageCount() * 4096);

            MemorySegment counter = vm.memory().slice(PauseKvmTest.COUNTER, 8);
            vm.resume();
            await().atMost(Duration.ofSeconds(10)).until(() -> counter.get(JAVA_LONG, 0) > 100);
            vm.pause(); // the second vCPU waits for a SIPI inside KVM_RUN and must be kicked out too
            assertEquals(RunState.PAUSED, vm.runState());
            long grownMib = (residentKib() - before) / 1024;
            System.out.println("resident growth for a 16 GiB guest: " + grownMib + " MiB");
            assertTrue(grownMib < 1024, "untouched guest memory is not resident: grew " + grownMib + " MiB");
        }
    }

    @Test
    void eachVcpuSeesItsOwnApicIdInCpuid() {
        try (Kvm kvm = Kvm.open(); Cpuid supported = kvm.supportedCpuid(); Cpuid own = supported.copy()) {
            own.setApicId(5);
            assertEquals(5, own.register(1, 0, 1) >>> 24, "leaf 1 EBX[31:24]");
            if (own.register(0xB, 0, 3) >= 0) {
                assertEquals(5, own.register(0xB, 0, 3), "leaf 0xB EDX");
            }
            assertEquals(supported.register(0, 0, 0), own.register(0, 0, 0), "other leaves untouched");
        }
    }

    private static long residentKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
