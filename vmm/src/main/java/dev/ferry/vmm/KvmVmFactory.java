package dev.ferry.vmm;

import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.VmFactory;
import dev.ferry.vm.VmShape;
import dev.ferry.vmm.boot.BootSource;
import dev.ferry.vmm.devices.SerialSink;
import dev.ferry.vmm.memory.GuestMemory;
import dev.ferry.vmm.memory.PreallocatedMemory;

import java.util.Objects;

/**
 * Builds an empty KVM VM of a migrating VM's shape, for a destination: same RAM layout and vCPU count, and
 * refused unless this host gives the guest exactly the same CPUID as the source did. Its RAM is the
 * destination's {@link PreallocatedMemory} when there is one and the VM fits.
 */
public final class KvmVmFactory implements VmFactory {
    private final String name;
    private final SerialSink serial;
    private final SerialSink debugConsole;
    private final PreallocatedMemory reserve;

    public KvmVmFactory(String name, SerialSink serial, SerialSink debugConsole) {
        this(name, serial, debugConsole, null);
    }

    /** A factory whose first VM that fits takes {@code reserve} (null for none) as its RAM. */
    public KvmVmFactory(String name, SerialSink serial, SerialSink debugConsole, PreallocatedMemory reserve) {
        this.name = Objects.requireNonNull(name, "name");
        this.serial = Objects.requireNonNull(serial, "serial");
        this.debugConsole = Objects.requireNonNull(debugConsole, "debugConsole");
        this.reserve = reserve;
    }

    @Override
    public void check(VmShape shape) {
        if (!KvmVm.KIND.equals(shape.kind())) {
            throw new IllegalArgumentException("a KVM VMM cannot receive a VM of kind \"" + shape.kind() + "\"");
        }
        if (!GuestMemory.layout(shape.ramBytes()).equals(shape.ram())) {
            throw new IllegalArgumentException("RAM layout " + shape.ram() + " is not the layout this VMM gives "
                    + shape.ramBytes() + " bytes: " + GuestMemory.layout(shape.ramBytes()));
        }
        String here = KvmOffer.cpuFeatures();
        if (!here.equals(shape.cpuFeatures())) {
            throw new IllegalArgumentException("CPU features differ: the source's guest saw " + shape.cpuFeatures()
                    + ", this host offers " + here);
        }
    }

    /** A VM whose vCPUs get {@link KvmOffer#supportedCpuid}, whose digest {@link #check} compared. */
    @Override
    public MigratableVm create(VmShape shape) {
        check(shape);
        return KvmVm.create(new VmConfig(name, shape.ramBytes(), shape.vcpus(), BootSource.nothing(), serial,
                debugConsole, ""), reserve);
    }
}
