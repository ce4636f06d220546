package dev.ferry.vmm.devices;

/** A level-triggered ISA interrupt line into the interrupt controller. */
@FunctionalInterface
public interface InterruptLine {
    InterruptLine NONE = high -> { };

    void set(boolean high);
}
