/* The interrupt descriptor table: exception reporting plus the vectors the timers use. */
#ifndef FERRY_WORKLOAD_INTERRUPTS_H
#define FERRY_WORKLOAD_INTERRUPTS_H

#include "types.h"

#define VECTOR_GENERAL_PROTECTION 13
#define VECTOR_PIC_BASE         0x20    /* IRQ0..15 -> 0x20..0x2F, clear of the CPU exceptions */
#define VECTOR_PIT              (VECTOR_PIC_BASE + 0)
#define VECTOR_PIC_SPURIOUS     (VECTOR_PIC_BASE + 7)
#define VECTOR_PIC2_SPURIOUS    (VECTOR_PIC_BASE + 15)
#define VECTOR_LAPIC_TIMER      0x40
#define VECTOR_LAPIC_SPURIOUS   0xff

/* The IDT, and the TSS whose RSP0 takes interrupts from user mode. */
void interrupts_init(void);

/* Continues at entry in 64-bit user mode (CPL 3, IOPL 3, interrupts on) on stack_top. In entry.S. */
void enter_user_mode(void (*entry)(void), void *stack_top) __attribute__((noreturn));

/* Called from the exception stubs in entry.S; prints the vector and halts. */
void on_exception(uint64_t vector, uint64_t error_code, uint64_t rip) __attribute__((noreturn));

#endif
