/* The interrupt descriptor table: exception reporting plus the vectors the timers use. */
#ifndef FERRY_WORKLOAD_INTERRUPTS_H
#define FERRY_WORKLOAD_INTERRUPTS_H

#include "types.h"

#define VECTOR_PIC_BASE         0x20    /* IRQ0..15 -> 0x20..0x2F, clear of the CPU exceptions */
#define VECTOR_PIT              (VECTOR_PIC_BASE + 0)
#define VECTOR_PIC_SPURIOUS     (VECTOR_PIC_BASE + 7)
#define VECTOR_PIC2_SPURIOUS    (VECTOR_PIC_BASE + 15)
#define VECTOR_LAPIC_TIMER      0x40
#define VECTOR_LAPIC_SPURIOUS   0xff

void interrupts_init(void);

/* Called from the exception stubs in entry.S; prints the vector and halts. */
void on_exception(uint32_t vector, uint32_t error_code, uint32_t eip) __attribute__((noreturn));

#endif
