#include "console.h"
#include "io.h"
#include "ports.h"

void serial_init(void) {
    outb(COM1_IER, 0);  /* heartbeats are written blind; the UART never interrupts us */
    outb(COM1_LCR, LCR_DLAB);
    outb(COM1_DLL, 1);  /* 115200 baud */
    outb(COM1_DLM, 0);
    outb(COM1_LCR, LCR_8N1);
}

static void put_char(enum console_target target, char c) {
    if (target & TO_DEBUGCON) {
        outb(DEBUGCON, (uint8_t) c);
    }
    if (target & TO_SERIAL) {
        /* Bounded: a VMM without a UART answers 0xFF, one whose LSR never says empty must not hang us. */
        for (int tries = 0; tries < 100000 && !(inb(COM1_LSR) & LSR_THR_EMPTY); tries++) {
        }
        outb(COM1_THR, (uint8_t) c);
    }
}

void put_string(enum console_target target, const char *text) {
    while (*text) {
        put_char(target, *text++);
    }
}

/* Decimal by subtracting powers of ten: a 64-bit division would need libgcc in 32-bit code. */
void put_decimal(enum console_target target, uint64_t value) {
    static const uint64_t powers[] = {
        10000000000000000000ull, 1000000000000000000ull, 100000000000000000ull,
        10000000000000000ull, 1000000000000000ull, 100000000000000ull, 10000000000000ull,
        1000000000000ull, 100000000000ull, 10000000000ull, 1000000000ull, 100000000ull,
        10000000ull, 1000000ull, 100000ull, 10000ull, 1000ull, 100ull, 10ull, 1ull,
    };
    bool started = false;
    for (unsigned i = 0; i < sizeof powers / sizeof powers[0]; i++) {
        char digit = '0';
        while (value >= powers[i]) {
            value -= powers[i];
            digit++;
        }
        if (digit != '0' || started || powers[i] == 1) {
            put_char(target, digit);
            started = true;
        }
    }
}

void put_hex(enum console_target target, uint32_t value) {
    put_string(target, "0x");
    for (int shift = 28; shift >= 0; shift -= 4) {
        put_char(target, "0123456789abcdef"[(value >> shift) & 0xf]);
    }
}
