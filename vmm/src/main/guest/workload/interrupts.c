#include "interrupts.h"
#include "console.h"
#include "io.h"

#define CODE64_SELECTOR     0x08
#define INTERRUPT_GATE_64   0x8e    /* present, ring 0, interrupts off on entry */

struct idt_entry {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;                    /* 0: stay on the current stack */
    uint8_t type;
    uint16_t offset_middle;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct idt_entry) == 16, "a long-mode gate is 16 bytes");

struct idt_descriptor {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

#define TSS_SELECTOR        0x28
#define TSS_AVAILABLE_64    0x89    /* present, ring 0, available 64-bit TSS */
#define INTERRUPT_STACK     16384

/* The 64-bit task state segment: only RSP0, the stack interrupts from user mode switch to. */
struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t io_map_base;
} __attribute__((packed));

_Static_assert(sizeof(struct tss) == 104, "a 64-bit TSS is 104 bytes");

/* Defined in entry.S. */
extern uint64_t gdt[7];
extern void general_protection(void);
extern void (*const exception_stubs[32])(void);
extern void timer_interrupt(void);
extern void spurious_interrupt(void);
extern void spurious_slave_interrupt(void);

/* Vectors left empty are not present: a stray interrupt there raises #NP, which is reported. */
static struct idt_entry idt[256] __attribute__((aligned(16)));
static struct tss tss __attribute__((aligned(16)));
static uint8_t interrupt_stack[INTERRUPT_STACK] __attribute__((aligned(16)));

static void set_gate(uint32_t vector, void (*handler)(void)) {
    uint64_t offset = (uintptr_t) handler;
    idt[vector].offset_low = (uint16_t) offset;
    idt[vector].selector = CODE64_SELECTOR;
    idt[vector].ist = 0;
    idt[vector].type = INTERRUPT_GATE_64;
    idt[vector].offset_middle = (uint16_t) (offset >> 16);
    idt[vector].offset_high = (uint32_t) (offset >> 32);
    idt[vector].reserved = 0;
}

void interrupts_init(void) {
    for (uint32_t vector = 0; vector < 32; vector++) {
        set_gate(vector, exception_stubs[vector]);
    }
    set_gate(VECTOR_GENERAL_PROTECTION, general_protection);
    set_gate(VECTOR_PIT, timer_interrupt);
    set_gate(VECTOR_PIC_SPURIOUS, spurious_interrupt);
    set_gate(VECTOR_PIC2_SPURIOUS, spurious_slave_interrupt);
    set_gate(VECTOR_LAPIC_TIMER, timer_interrupt);
    set_gate(VECTOR_LAPIC_SPURIOUS, spurious_interrupt);
    struct idt_descriptor descriptor = {sizeof idt - 1, (uintptr_t) idt};
    __asm__ volatile("lidt %0" : : "m"(descriptor));

    tss.rsp[0] = (uintptr_t) (interrupt_stack + sizeof interrupt_stack);
    tss.io_map_base = sizeof tss;   /* no I/O bitmap: IOPL 3 alone grants user mode the ports */
    uint64_t base = (uintptr_t) &tss;
    gdt[TSS_SELECTOR / 8] = (sizeof tss - 1) | (base & 0xffffff) << 16 | (uint64_t) TSS_AVAILABLE_64 << 40
            | ((base >> 24) & 0xff) << 56;
    gdt[TSS_SELECTOR / 8 + 1] = base >> 32;
    __asm__ volatile("ltr %w0" : : "r"(TSS_SELECTOR));
}

void on_exception(uint64_t vector, uint64_t error_code, uint64_t rip) {
    put_string(TO_BOTH, "\nferry-workload: exception ");
    put_hex(TO_BOTH, vector);
    put_string(TO_BOTH, " error=");
    put_hex(TO_BOTH, error_code);
    put_string(TO_BOTH, " rip=");
    put_hex(TO_BOTH, rip);
    put_string(TO_BOTH, ", halted\n");
    halt_forever();
}
