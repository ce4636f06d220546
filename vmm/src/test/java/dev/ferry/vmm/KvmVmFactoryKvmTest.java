package dev.ferry.vmm;

import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RamRegion;
import dev.ferry.vm.RunState;
import dev.ferry.vm.VmShape;
import dev.ferry.vmm.boot.BootSource;
import dev.ferry.vmm.devices.SerialSink;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A destination VM built from the source's shape. */
@RequiresKvm
class KvmVmFactoryKvmTest {
    private final KvmVmFactory factory = new KvmVmFactory("dest", SerialSink.none(), SerialSink.none());

    @Test
    void buildsAnEmptyVmOfTheSameShape() {
        VmShape source;
        try (KvmVm vm = KvmVm.create(VmConfig.of("src", 8 << 20, 2, BootSource.nothing()))) {
            source = vm.shape();
        }
        MigratableVm dest = factory.create(source);
        try {
            assertEquals(source, dest.shape());
            assertEquals(RunState.CREATED, dest.runState());
        } finally {
            ((KvmVm) dest).close();
        }
    }

    @Test
    void refusesAnotherKindALayoutItWouldNotBuildOrOtherCpuFeatures() {
        VmShape source;
        try (KvmVm vm = KvmVm.create(VmConfig.of("src", 8 << 20, 1, BootSource.nothing()))) {
            source = vm.shape();
        }
        IllegalArgumentException kind = assertThrows(IllegalArgumentException.class,
                () -> factory.create(new VmShape(source.ram(), 1, source.cpuFeatures(), "simulated")));
        assertTrue(kind.getMessage().contains("simulated"), kind.getMessage());
        IllegalArgumentException layout = assertThrows(IllegalArgumentException.class, () -> factory.create(
                new VmShape(List.of(new RamRegion(0, 1 << 20, 8 << 20)), 1, source.cpuFeatures(), "kvm")));
        assertTrue(layout.getMessage().contains("RAM layout"), layout.getMessage());
        IllegalArgumentException cpu = assertThrows(IllegalArgumentException.class,
                () -> factory.create(new VmShape(source.ram(), 1, "sha256:0000", "kvm")));
        assertTrue(cpu.getMessage().contains("CPU features differ"), cpu.getMessage());
    }
}
