/* Port I/O and the few privileged instructions the workload needs, as inline assembly. */
#ifndef FERRY_WORKLOAD_IO_H
#define FERRY_WORKLOAD_IO_H

#include "types.h"

static inline void outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t value) {
    __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static inline void cpuid(uint32_t leaf, uint32_t *eax, uint32_t *ebx, uint32_t *ecx, uint32_t *edx) {
    __asm__ volatile("cpuid" : "=a"(*eax), "=b"(*ebx), "=c"(*ecx), "=d"(*edx) : "a"(leaf), "c"(0));
}

static inline uint64_t rdmsr(uint32_t msr) {
    uint32_t low, high;
    __asm__ volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return ((uint64_t) high << 32) | low;
}

static inline void wrmsr(uint32_t msr, uint64_t value) {
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t) value), "d"((uint32_t) (value >> 32)));
}

static inline uint32_t mmio_read32(uint32_t address) {
    return *(volatile uint32_t *) address;
}

static inline void mmio_write32(uint32_t address, uint32_t value) {
    *(volatile uint32_t *) address = value;
}

static inline void interrupts_on(void) {
    __asm__ volatile("sti" : : : "memory");
}

/* Stops for good: an NMI may wake hlt, so loop. */
static inline __attribute__((noreturn)) void halt_forever(void) {
    for (;;) {
        __asm__ volatile("cli; hlt" : : : "memory");
    }
}

#endif
