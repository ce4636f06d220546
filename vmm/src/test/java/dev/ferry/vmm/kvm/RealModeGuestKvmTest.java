package dev.ferry.vmm.kvm;

import dev.ferry.vmm.sys.Libc;
import dev.ferry.vmm.sys.SyscallException;
import dev.ferry.vmm.testing.RequiresKvm;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JDK 25 + FFM + /dev/kvm path: a VM, a vCPU and a few bytes of real-mode code. */
@RequiresKvm
class RealModeGuestKvmTest {
    private static final long GUEST_MEMORY = 0x10000;
    private static final long CODE = 0x1000;
    /** mov al, 0x5a; out 0xe9, al; mov al, 0x42; out 0xe9, al; hlt */
    private static final byte[] PROGRAM = {
            (byte) 0xB0, 0x5A, (byte) 0xE6, (byte) 0xE9,
            (byte) 0xB0, 0x42, (byte) 0xE6, (byte) 0xE9,
            (byte) 0xF4};

    @Test
    void realModeCodeWritesToAPortAndHalts() {
        try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); Arena arena = Arena.ofConfined()) {
            assertEquals(Kvm.EXPECTED_API_VERSION, kvm.apiVersion());
            MemorySegment memory = Libc.mmap(GUEST_MEMORY, Libc.PROT_READ | Libc.PROT_WRITE,
                    Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
            try {
                MemorySegment.copy(MemorySegment.ofArray(PROGRAM), 0, memory, CODE, PROGRAM.length);
                vm.setUserMemoryRegion(0, 0, 0, memory);
                try (VcpuFd vcpu = vm.createVcpu(0)) {
                    enterRealModeAt(vcpu, arena, CODE);

                    StringBuilder written = new StringBuilder();
                    KvmRun run = vcpu.run();
                    for (int exits = 0; exits < 2; exits++) {
                        assertEquals(0, vcpu.runOnce());
                        assertEquals(KvmRun.EXIT_IO, run.exitReason());
                        assertEquals(KvmRun.IO_DIRECTION_OUT, run.ioDirection());
                        assertEquals(0xE9, run.ioPort());
                        assertEquals(1, run.ioSize());
                        written.append((char) run.ioData().get(JAVA_BYTE, 0));
                    }
                    assertEquals(0, vcpu.runOnce());
                    assertEquals(KvmRun.EXIT_HLT, run.exitReason());
                    assertEquals("ZB", written.toString());

                    MemorySegment regs = arena.allocate(KvmStructs.REGS);
                    vcpu.getRegs(regs);
                    assertEquals(CODE + PROGRAM.length, regs.get(JAVA_LONG, 16 * 8), "rip after hlt");
                }
            } finally {
                Libc.munmap(memory);
            }
        }
    }

    @Test
    void aFailedIoctlNamesTheIoctlAndTheErrno() {
        try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm()) {
            try (VcpuFd first = vm.createVcpu(0)) {
                SyscallException duplicate = assertThrows(SyscallException.class, () -> vm.createVcpu(0));
                assertTrue(duplicate.getMessage().startsWith("ioctl KVM_CREATE_VCPU failed: EEXIST"),
                        duplicate.getMessage());
            }
        }
    }

    private static void enterRealModeAt(VcpuFd vcpu, Arena arena, long address) {
        MemorySegment sregs = arena.allocate(KvmStructs.SREGS);
        vcpu.getSregs(sregs);
        sregs.set(JAVA_LONG, 0, 0L); // cs.base
        sregs.set(JAVA_SHORT, 12, (short) 0); // cs.selector
        vcpu.setSregs(sregs);
        MemorySegment regs = arena.allocate(KvmStructs.REGS);
        regs.set(JAVA_LONG, 16 * 8, address); // rip
        regs.set(JAVA_LONG, 17 * 8, 0x2L); // rflags: bit 1 is always set
        vcpu.setRegs(regs);
    }
}
