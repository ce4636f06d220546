package dev.ferry.vmm.boot;

import dev.ferry.vmm.kvm.VcpuFd;
import dev.ferry.vmm.memory.GuestMemory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What a VM boots from. Loading writes the image into guest memory and sets the boot vCPU's registers. */
public sealed interface BootSource permits BootSector, MultibootKernel, LongModePayload, BootSource.Nothing {
    /**
     * Loads into {@code memory} (every write recorded as a host write) and prepares {@code bootVcpu}.
     *
     * @throws IllegalArgumentException naming what is wrong with the image
     */
    void load(GuestMemory memory, VcpuFd bootVcpu, String commandLine);

    /** A short description for status displays and errors. */
    String describe();

    /** No image: a migration destination's memory and registers arrive over the wire. */
    record Nothing() implements BootSource {
        @Override
        public void load(GuestMemory memory, VcpuFd bootVcpu, String commandLine) {
        }

        @Override
        public String describe() {
            return "nothing (incoming)";
        }
    }

    static BootSource nothing() {
        return new Nothing();
    }

    static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read boot image " + file, e);
        }
    }
}
