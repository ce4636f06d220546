package dev.ferry.vmm;

import dev.ferry.vmm.boot.BootSource;
import dev.ferry.vmm.devices.SerialSink;

import java.util.Objects;

/**
 * What a {@link KvmVm} is built from.
 *
 * @param name         the VM's name, for status and logs
 * @param memoryBytes  guest RAM, a positive multiple of 4 KiB (above 3 GiB the rest lands at 4 GiB)
 * @param vcpus        vCPU count, at least 1
 * @param boot         what it boots ({@link BootSource#nothing()} for a migration destination)
 * @param serial       where COM1's output goes
 * @param debugConsole where bytes written to port 0xE9 go
 * @param commandLine  the kernel command line handed to a Multiboot kernel ("" for none)
 */
public record VmConfig(String name, long memoryBytes, int vcpus, BootSource boot, SerialSink serial,
                       SerialSink debugConsole, String commandLine) {
    public VmConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(boot, "boot");
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(debugConsole, "debugConsole");
        Objects.requireNonNull(commandLine, "commandLine");
        if (memoryBytes <= 0 || memoryBytes % 4096 != 0) {
            throw new IllegalArgumentException("VM memory of " + memoryBytes + " bytes is not a positive multiple of 4 KiB");
        }
        if (vcpus < 1 || vcpus > 255) {
            throw new IllegalArgumentException("a VM has 1..255 vCPUs, not " + vcpus);
        }
    }

    /** A VM whose serial and debug output go nowhere and whose command line is empty. */
    public static VmConfig of(String name, long memoryBytes, int vcpus, BootSource boot) {
        return new VmConfig(name, memoryBytes, vcpus, boot, SerialSink.none(), SerialSink.none(), "");
    }

    public VmConfig withSerial(SerialSink sink) {
        return new VmConfig(name, memoryBytes, vcpus, boot, sink, debugConsole, commandLine);
    }

    public VmConfig withDebugConsole(SerialSink sink) {
        return new VmConfig(name, memoryBytes, vcpus, boot, serial, sink, commandLine);
    }

    public VmConfig withCommandLine(String line) {
        return new VmConfig(name, memoryBytes, vcpus, boot, serial, debugConsole, line);
    }
}
