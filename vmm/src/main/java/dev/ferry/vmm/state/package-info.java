/**
 * A KVM VM's complete non-RAM state as versioned bytes: what stop-and-copy sends after the last dirty
 * pages, so a guest paused in one VMM process resumes in another.
 *
 * <h2>Pieces</h2>
 * <ul>
 * <li>{@link dev.ferry.vmm.state.VmState}, {@link dev.ferry.vmm.state.VcpuState},
 *     {@link dev.ferry.vmm.state.IrqchipState}, {@link dev.ferry.vmm.state.Msr},
 *     {@link dev.ferry.vmm.state.DeviceSection}: plain data, separate from live objects.</li>
 * <li>{@link dev.ferry.vmm.state.VmStateSnapshotter}: reads a paused VM into a {@code VmState} and
 *     writes one into another VM, in the restore order below.</li>
 * <li>{@link dev.ferry.vmm.state.VmStateCodec}: {@code VmState} to bytes and back; pure bytes in and
 *     out, no threads, files or processes.</li>
 * <li>{@link dev.ferry.vmm.state.DeviceStateCodec}: what a device implements to take part (section id,
 *     newest version, save, load).</li>
 * </ul>
 *
 * <h2>Format, version 1</h2>
 * All integers little-endian.
 * <pre>
 * header   8  magic "FERRYVM\0"
 *          2  format version (1)
 *          2  header flags (0)
 *          4  section count
 * section  4  id, four printable ASCII characters
 *          2  section version (1..65535)
 *          2  flags: bit 0 OPTIONAL (a VMM that does not know the id may skip the section)
 *          4  instance: the vCPU id for per-vCPU sections, the chip id for IRQC, else 0
 *          4  payload length
 *          n  payload
 * trailer  4  CRC32C of every byte before it
 * </pre>
 *
 * <h2>Sections (all version 1)</h2>
 * <table>
 * <caption>Built-in sections</caption>
 * <tr><th>id</th><th>name in messages</th><th>instance</th><th>payload</th></tr>
 * <tr><td>CLCK</td><td>clock</td><td>0</td><td>struct kvm_clock_data, 48 bytes (KVM_GET_CLOCK)</td></tr>
 * <tr><td>IRQC</td><td>irqchip</td><td>0 PIC master, 1 PIC slave, 2 IOAPIC</td>
 *     <td>the 512-byte chip union of struct kvm_irqchip (KVM_GET_IRQCHIP)</td></tr>
 * <tr><td>PIT2</td><td>pit</td><td>0</td><td>struct kvm_pit_state2, 112 bytes (KVM_GET_PIT2)</td></tr>
 * <tr><td>REGS</td><td>regs</td><td>vCPU</td><td>struct kvm_regs, 144 bytes</td></tr>
 * <tr><td>SREG</td><td>sregs</td><td>vCPU</td><td>struct kvm_sregs, 312 bytes</td></tr>
 * <tr><td>XSAV</td><td>xsave</td><td>vCPU</td><td>the XSAVE region, 4096 bytes or KVM_CAP_XSAVE2's size
 *     (KVM_GET_XSAVE / KVM_GET_XSAVE2)</td></tr>
 * <tr><td>XCRS</td><td>xcrs</td><td>vCPU</td><td>struct kvm_xcrs, 392 bytes</td></tr>
 * <tr><td>MSRS</td><td>msrs</td><td>vCPU</td><td>u32 count, then per MSR u32 index and u64 value, in
 *     restore order</td></tr>
 * <tr><td>LAPC</td><td>lapic</td><td>vCPU</td><td>struct kvm_lapic_state, 1024 bytes</td></tr>
 * <tr><td>EVTS</td><td>vcpu-events</td><td>vCPU</td><td>struct kvm_vcpu_events, 64 bytes</td></tr>
 * <tr><td>MPST</td><td>mp-state</td><td>vCPU</td><td>struct kvm_mp_state, 4 bytes</td></tr>
 * <tr><td>DBRG</td><td>debugregs</td><td>vCPU</td><td>struct kvm_debugregs, 128 bytes</td></tr>
 * </table>
 * Kernel structs are stored as the kernel's x86-64 bytes: that ABI is stable, so the payload is the
 * struct itself. Device sections follow the built-in ones under ids their devices choose; their payload
 * is the device's business.
 *
 * <p>The MSRs saved are those of KVM_GET_MSR_INDEX_LIST plus the time, syscall, PAT, MTRR and
 * MISC_ENABLE MSRs Linux guests depend on, kept where KVM_GET_MSRS can read them on the vCPU, with
 * TSC_DEADLINE last. A 1-vCPU VM on the development machine saves 69 MSRs; the whole state is 8936
 * bytes (4096 of them XSAVE).
 *
 * <h2>Compatibility rule</h2>
 * <ul>
 * <li>A format version newer than {@link dev.ferry.vmm.state.VmStateCodec#FORMAT_VERSION} is refused.
 *     The format version changes only when the framing changes.</li>
 * <li>A section version newer than the reader knows is refused with a message naming the section:
 *     {@code state section 'lapic' is version 3; this VMM reads up to 1}. Older versions load: a
 *     reader keeps a decoder for every version it ever wrote (devices: their
 *     {@link dev.ferry.vmm.state.DeviceStateCodec#load} receives the saved version).</li>
 * <li>A section whose id the reader does not know (neither built-in nor a device of the target VM) is
 *     refused, naming it, unless the writer flagged it OPTIONAL, in which case it is skipped. A device
 *     that marks itself optional may also be absent from the state; it then keeps its reset state.</li>
 * <li>Every built-in section must be present exactly once per instance; every length is checked
 *     before it is read, and the CRC32C trailer catches corruption that keeps the framing intact. Any
 *     of these failures is a {@link dev.ferry.vmm.state.StateFormatException} that says what and
 *     where, never an exception from deep inside the reader.</li>
 * </ul>
 *
 * <h2>Restore order</h2>
 * Spelled out where it happens, on {@link dev.ferry.vmm.state.VmStateSnapshotter#restore}: clock;
 * PIC master, PIC slave, IOAPIC; PIT; then per vCPU sregs, regs, xcrs, xsave, lapic, MSRs (TSC first,
 * TSC_DEADLINE last), debugregs, vcpu-events, mp-state; then devices. kvmclock resumes at the saved
 * value (the realtime flag is cleared), so the guest's clock does not count the pause; the TSC on the
 * development machine's KVM follows the host and jumps by the pause.
 */
package dev.ferry.vmm.state;
