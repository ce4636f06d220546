package dev.ferry.vmm.state;

import dev.ferry.vmm.kvm.Kvm;
import dev.ferry.vmm.kvm.KvmStructs;
import dev.ferry.vmm.kvm.VcpuFd;
import dev.ferry.vmm.kvm.VmFd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Reads a paused KVM VM's non-RAM state into a {@link VmState} and writes one into another VM.
 * Pure data in and out: no threads, no files, no knowledge of where the state travels. The caller
 * guarantees that no vCPU is inside KVM_RUN during either call.
 *
 * <p>The VM must have an in-kernel irqchip (KVM_CREATE_IRQCHIP) and PIT (KVM_CREATE_PIT2); the
 * target VM of a restore must have been created the same way, with the same number of vCPUs and its
 * guest memory already in place.
 */
public final class VmStateSnapshotter {
    private static final int XSAVE_LEGACY_SIZE = KvmStructs.XSAVE_SIZE;
    /** kvm_clock_data.flags bit: KVM_GET_CLOCK filled in realtime; KVM_SET_CLOCK would then add the pause. */
    private static final int KVM_CLOCK_REALTIME = 1 << 2;
    private static final int EINTR = 4;

    private final int xsaveSize;
    private final int[] msrCandidates;
    private int[] savedMsrs;

    /** Reads once from {@code /dev/kvm} which MSRs exist and how large an XSAVE area is. */
    public VmStateSnapshotter(Kvm kvm) {
        this.xsaveSize = kvm.xsaveSize();
        this.msrCandidates = MsrSelection.candidates(kvm.msrIndexList());
    }

    /** The MSR indices a capture saves, probed on {@code vcpu} the first time and fixed after. */
    public List<Integer> savedMsrIndices(VcpuFd vcpu) {
        return Arrays.stream(msrsToSave(vcpu)).boxed().toList();
    }

    /**
     * Reads the VM-wide state (clock, irqchip, PIT), every vCPU's state and every device's section.
     * {@code vcpus} are all of the VM's vCPUs in id order; none may be running. Each vCPU first
     * re-enters KVM_RUN with immediate_exit set so an I/O exit it stopped on is completed, not replayed.
     */
    public VmState capture(VmFd vm, List<VcpuFd> vcpus, List<? extends DeviceStateCodec> devices) {
        if (vcpus.isEmpty()) {
            throw new IllegalArgumentException("a VM state needs at least one vCPU");
        }
        for (int position = 0; position < vcpus.size(); position++) {
            if (vcpus.get(position).id() != position) {
                throw new IllegalArgumentException("vCPU at position " + position + " has id " + vcpus.get(position).id());
            }
            completePendingIo(vcpus.get(position));
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment clock = arena.allocate(KvmStructs.CLOCK_DATA);
            vm.getClock(clock);
            IrqchipState irqchip = new IrqchipState(
                    getChip(vm, arena, VmFd.IRQCHIP_PIC_MASTER),
                    getChip(vm, arena, VmFd.IRQCHIP_PIC_SLAVE),
                    getChip(vm, arena, VmFd.IRQCHIP_IOAPIC));
            MemorySegment pit = arena.allocate(KvmStructs.PIT_STATE2);
            vm.getPit2(pit);

            List<VcpuState> vcpuStates = new ArrayList<>(vcpus.size());
            for (VcpuFd vcpu : vcpus) {
                vcpuStates.add(captureVcpu(vcpu, arena));
            }

            List<DeviceSection> deviceSections = new ArrayList<>(devices.size());
            for (DeviceStateCodec device : devices) {
                deviceSections.add(new DeviceSection(device.sectionId(), device.version(), device.optional(),
                        device.save()));
            }
            return new VmState(bytes(clock), irqchip, bytes(pit), vcpuStates, deviceSections);
        }
    }

    /**
     * After a KVM_EXIT_IO or KVM_EXIT_MMIO the instruction is finished (RIP advanced, IN data stored)
     * only when KVM_RUN is entered again; state read before that would replay the access on the
     * target. Entering with immediate_exit set completes it and returns EINTR without running guest
     * code (api.rst, KVM_RUN). Harmless when nothing is pending, so the capture always does it.
     */
    private static void completePendingIo(VcpuFd vcpu) {
        vcpu.run().setImmediateExit(true);
        try {
            int rc = vcpu.runOnce();
            if (rc != -EINTR && rc != 0) {
                throw new IllegalStateException("KVM_RUN with immediate_exit on vCPU " + vcpu.id()
                        + " failed with errno " + -rc);
            }
        } finally {
            vcpu.run().setImmediateExit(false);
        }
    }

    private VcpuState captureVcpu(VcpuFd vcpu, Arena arena) {
        MemorySegment regs = arena.allocate(KvmStructs.REGS);
        vcpu.getRegs(regs);
        MemorySegment sregs = arena.allocate(KvmStructs.SREGS);
        vcpu.getSregs(sregs);
        MemorySegment xsave = arena.allocate(xsaveSize, 64);
        if (xsaveSize > XSAVE_LEGACY_SIZE) {
            vcpu.getXsave2(xsave);
        } else {
            vcpu.getXsave(xsave);
        }
        MemorySegment xcrs = arena.allocate(KvmStructs.XCRS);
        vcpu.getXcrs(xcrs);
        List<Msr> msrs = getMsrs(vcpu, arena, msrsToSave(vcpu));
        MemorySegment lapic = arena.allocate(KvmStructs.LAPIC_STATE);
        vcpu.getLapic(lapic);
        MemorySegment events = arena.allocate(KvmStructs.VCPU_EVENTS);
        vcpu.getVcpuEvents(events);
        MemorySegment mpState = arena.allocate(KvmStructs.MP_STATE);
        vcpu.getMpState(mpState);
        MemorySegment debugregs = arena.allocate(KvmStructs.DEBUGREGS);
        vcpu.getDebugregs(debugregs);
        return new VcpuState(vcpu.id(), bytes(regs), bytes(sregs), bytes(xsave), bytes(xcrs), msrs,
                bytes(lapic), bytes(events), bytes(mpState), bytes(debugregs));
    }

    /**
     * Writes {@code state} into {@code vm}, whose vCPUs and devices must correspond one for one to the
     * saved ones. The order is what KVM's checks and side effects require:
     * <ol>
     * <li>KVM_SET_CLOCK first, with the realtime flag cleared, so kvmclock resumes at the saved value
     *     (the guest does not see the pause as elapsed time) and every kvmclock MSR written below
     *     republishes that clock.</li>
     * <li>KVM_SET_IRQCHIP for PIC master, PIC slave, IOAPIC, then KVM_SET_PIT2: the PIT restarts its
     *     period at restore time, and its first tick must land in the restored PICs.</li>
     * <li>Per vCPU, KVM_SET_SREGS first: CR0/CR4/EFER set the mode the rest is interpreted in, and
     *     apic_base enables the LAPIC that KVM_SET_LAPIC writes into.</li>
     * <li>KVM_SET_REGS, KVM_SET_XCRS (XCR0 names the enabled XSAVE components), KVM_SET_XSAVE.</li>
     * <li>KVM_SET_LAPIC after sregs, and before the MSRs: TSC_DEADLINE (written last of all MSRs) only
     *     arms a timer whose LVT is already in TSC-deadline mode.</li>
     * <li>KVM_SET_MSRS in {@link MsrSelection} order: TSC and TSC_ADJUST first, then the rest.
     *     Restoring IA32_TSC asks KVM to set the guest TSC to the saved value, but the KVM on the
     *     development machine (kvm_pvm) ignores it, so there the TSC jumps by the pause; kvmclock,
     *     which Linux guests use for time, stays continuous through KVM_SET_CLOCK above.</li>
     * <li>KVM_SET_DEBUGREGS, then KVM_SET_VCPU_EVENTS (pending exception, NMI, interrupt shadow,
     *     SIPI vector) late, so no earlier write clears them.</li>
     * <li>KVM_SET_MP_STATE last: runnable or halted is the state the vCPU resumes in.</li>
     * <li>Finally each device loads its own section.</li>
     * </ol>
     */
    public void restore(VmState state, VmFd vm, List<VcpuFd> vcpus, List<? extends DeviceStateCodec> devices) {
        if (vcpus.size() != state.vcpus().size()) {
            throw new StateFormatException("VM state has " + state.vcpus().size() + " vCPUs; the target VM has "
                    + vcpus.size());
        }
        DeviceStateLoader.check(state.devices(), devices); // before KVM is touched: a mismatch changes nothing
        for (VcpuState vcpu : state.vcpus()) {
            if (vcpu.xsave().length > xsaveSize) {
                throw new StateFormatException("state section 'xsave' of vCPU " + vcpu.id() + " is "
                        + vcpu.xsave().length + " bytes; this host's KVM takes at most " + xsaveSize);
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment clock = segment(arena, state.clock(), KvmStructs.CLOCK_DATA_SIZE, "clock");
            int flags = clock.get(JAVA_INT, 8);
            clock.set(JAVA_INT, 8, flags & ~KVM_CLOCK_REALTIME);
            vm.setClock(clock);

            setChip(vm, arena, VmFd.IRQCHIP_PIC_MASTER, state.irqchip().picMaster());
            setChip(vm, arena, VmFd.IRQCHIP_PIC_SLAVE, state.irqchip().picSlave());
            setChip(vm, arena, VmFd.IRQCHIP_IOAPIC, state.irqchip().ioapic());
            vm.setPit2(segment(arena, state.pit(), KvmStructs.PIT_STATE2_SIZE, "pit"));

            for (int position = 0; position < vcpus.size(); position++) {
                VcpuFd vcpu = vcpus.get(position);
                if (vcpu.id() != position) {
                    throw new IllegalArgumentException("vCPU at position " + position + " has id " + vcpu.id());
                }
                restoreVcpu(state.vcpus().get(position), vcpu, arena);
            }
        }
        DeviceStateLoader.load(state.devices(), devices);
    }

    private void restoreVcpu(VcpuState saved, VcpuFd vcpu, Arena arena) {
        String of = " of vCPU " + saved.id();
        vcpu.setSregs(segment(arena, saved.sregs(), KvmStructs.SREGS_SIZE, "sregs" + of));
        vcpu.setRegs(segment(arena, saved.regs(), KvmStructs.REGS_SIZE, "regs" + of));
        vcpu.setXcrs(segment(arena, saved.xcrs(), KvmStructs.XCRS_SIZE, "xcrs" + of));
        MemorySegment xsave = arena.allocate(xsaveSize, 64); // zero beyond the saved bytes
        MemorySegment.copy(MemorySegment.ofArray(saved.xsave()), 0, xsave, 0, saved.xsave().length);
        vcpu.setXsave(xsave);
        vcpu.setLapic(segment(arena, saved.lapic(), KvmStructs.LAPIC_STATE_SIZE, "lapic" + of));
        setMsrs(vcpu, arena, saved.msrs());
        vcpu.setDebugregs(segment(arena, saved.debugregs(), KvmStructs.DEBUGREGS_SIZE, "debugregs" + of));
        vcpu.setVcpuEvents(segment(arena, saved.events(), KvmStructs.VCPU_EVENTS_SIZE, "vcpu-events" + of));
        vcpu.setMpState(segment(arena, saved.mpState(), KvmStructs.MP_STATE_SIZE, "mp-state" + of));
    }

    private synchronized int[] msrsToSave(VcpuFd vcpu) {
        if (savedMsrs == null) {
            savedMsrs = MsrSelection.readable(vcpu, msrCandidates);
        }
        return savedMsrs;
    }

    private static List<Msr> getMsrs(VcpuFd vcpu, Arena arena, int[] indices) {
        MemorySegment msrs = msrArray(arena, indices.length);
        for (int i = 0; i < indices.length; i++) {
            msrs.set(JAVA_INT, entry(i), indices[i]);
        }
        int read = vcpu.getMsrs(msrs);
        if (read != indices.length) {
            throw new IllegalStateException(String.format(
                    "KVM_GET_MSRS read %d of %d MSRs on vCPU %d: MSR 0x%x is not readable", read, indices.length,
                    vcpu.id(), indices[read]));
        }
        List<Msr> values = new ArrayList<>(indices.length);
        for (int i = 0; i < indices.length; i++) {
            values.add(new Msr(indices[i], msrs.get(JAVA_LONG, entry(i) + 8)));
        }
        return values;
    }

    private static void setMsrs(VcpuFd vcpu, Arena arena, List<Msr> saved) {
        MemorySegment msrs = msrArray(arena, saved.size());
        for (int i = 0; i < saved.size(); i++) {
            msrs.set(JAVA_INT, entry(i), saved.get(i).index());
            msrs.set(JAVA_LONG, entry(i) + 8, saved.get(i).value());
        }
        int written = vcpu.setMsrs(msrs);
        if (written != saved.size()) {
            throw new StateFormatException(String.format(
                    "KVM_SET_MSRS wrote %d of %d MSRs on vCPU %d: KVM refused %s", written, saved.size(), vcpu.id(),
                    saved.get(written)));
        }
    }

    private static MemorySegment msrArray(Arena arena, int count) {
        MemorySegment msrs = arena.allocate(KvmStructs.MSRS_HEADER_SIZE + (long) count * KvmStructs.MSR_ENTRY_SIZE, 8);
        msrs.set(JAVA_INT, 0, count);
        return msrs;
    }

    private static long entry(int i) {
        return KvmStructs.MSRS_HEADER_SIZE + (long) i * KvmStructs.MSR_ENTRY_SIZE;
    }

    private static byte[] getChip(VmFd vm, Arena arena, int chipId) {
        MemorySegment chip = arena.allocate(KvmStructs.IRQCHIP);
        chip.set(JAVA_INT, 0, chipId);
        vm.getIrqchip(chip);
        return chip.asSlice(KvmStructs.IRQCHIP_CHIP_OFFSET, KvmStructs.IRQCHIP_CHIP_SIZE).toArray(JAVA_BYTE);
    }

    private static void setChip(VmFd vm, Arena arena, int chipId, byte[] saved) {
        if (saved.length != KvmStructs.IRQCHIP_CHIP_SIZE) {
            throw new StateFormatException("state section 'irqchip' for chip " + chipId + " is " + saved.length
                    + " bytes; KVM takes " + KvmStructs.IRQCHIP_CHIP_SIZE);
        }
        MemorySegment chip = arena.allocate(KvmStructs.IRQCHIP);
        chip.set(JAVA_INT, 0, chipId);
        MemorySegment.copy(MemorySegment.ofArray(saved), 0, chip, KvmStructs.IRQCHIP_CHIP_OFFSET, saved.length);
        vm.setIrqchip(chip);
    }

    private static MemorySegment segment(Arena arena, byte[] saved, int size, String what) {
        if (saved.length != size) {
            throw new StateFormatException("state section '" + what + "' is " + saved.length + " bytes; KVM takes " + size);
        }
        MemorySegment segment = arena.allocate(size, 8);
        MemorySegment.copy(MemorySegment.ofArray(saved), 0, segment, 0, size);
        return segment;
    }

    private static byte[] bytes(MemorySegment segment) {
        return segment.toArray(JAVA_BYTE);
    }
}
