#include "interrupts.h"
#include "console.h"
#include "io.h"

#define CODE_SELECTOR       0x08
#define INTERRUPT_GATE_32   0x8e    /* present, ring 0, interrupts off on entry */

struct idt_entry {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t zero;
    uint8_t type;
    uint16_t offset_high;
} __attribute__((packed));

struct idt_descriptor {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

/* Defined in entry.S. */
extern const uint32_t exception_stubs[32];
extern void timer_interrupt(void);
extern void spurious_interrupt(void);
extern void spurious_slave_interrupt(void);

/* Vectors left empty are not present: a stray interrupt there raises #NP, which is reported. */
static struct idt_entry idt[256] __attribute__((aligned(8)));

static void set_gate(uint32_t vector, uint32_t handler) {
    idt[vector].offset_low = (uint16_t) handler;
    idt[vector].selector = CODE_SELECTOR;
    idt[vector].zero = 0;
    idt[vector].type = INTERRUPT_GATE_32;
    idt[vector].offset_high = (uint16_t) (handler >> 16);
}

void interrupts_init(void) {
    for (uint32_t vector = 0; vector < 32; vector++) {
        set_gate(vector, exception_stubs[vector]);
    }
    set_gate(VECTOR_PIT, (uint32_t) timer_interrupt);
    set_gate(VECTOR_PIC_SPURIOUS, (uint32_t) spurious_interrupt);
    set_gate(VECTOR_PIC2_SPURIOUS, (uint32_t) spurious_slave_interrupt);
    set_gate(VECTOR_LAPIC_TIMER, (uint32_t) timer_interrupt);
    set_gate(VECTOR_LAPIC_SPURIOUS, (uint32_t) spurious_interrupt);
    struct idt_descriptor descriptor = {sizeof idt - 1, (uint32_t) idt};
    __asm__ volatile("lidt %0" : : "m"(descriptor));
}

void on_exception(uint32_t vector, uint32_t error_code, uint32_t eip) {
    put_string(TO_BOTH, "\nferry-workload: exception ");
    put_hex(TO_BOTH, vector);
    put_string(TO_BOTH, " error=");
    put_hex(TO_BOTH, error_code);
    put_string(TO_BOTH, " eip=");
    put_hex(TO_BOTH, eip);
    put_string(TO_BOTH, ", halted\n");
    halt_forever();
}
