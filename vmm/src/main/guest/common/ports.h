/*
 * I/O ports every Ferry guest agrees on with the VMM. Included by the C and by the
 * preprocessed assembly (.S) sources, so it holds only #defines.
 */
#ifndef FERRY_GUEST_PORTS_H
#define FERRY_GUEST_PORTS_H

/* COM1, a 16550 UART: the guests' console and the workload's heartbeat line. */
#define COM1            0x3f8
#define COM1_THR        (COM1 + 0)  /* transmit holding register (DLAB=0) */
#define COM1_DLL        (COM1 + 0)  /* divisor latch low (DLAB=1) */
#define COM1_IER        (COM1 + 1)  /* interrupt enable (DLAB=0) */
#define COM1_DLM        (COM1 + 1)  /* divisor latch high (DLAB=1) */
#define COM1_FCR        (COM1 + 2)
#define COM1_LCR        (COM1 + 3)
#define COM1_MCR        (COM1 + 4)
#define COM1_LSR        (COM1 + 5)
#define LSR_THR_EMPTY   0x20        /* LSR bit 5: THR can take another byte */
#define LCR_DLAB        0x80
#define LCR_8N1         0x03

/* The Bochs/QEMU debug console: one byte per OUT, no status to poll. */
#define DEBUGCON        0xe9

/* Workload status: a 32-bit OUT of the pages written so far, once per 1000 ticks. */
#define WORKLOAD_STATUS 0x511

/* 8259 programmable interrupt controllers. */
#define PIC1_CMD        0x20
#define PIC1_DATA       0x21
#define PIC2_CMD        0xa0
#define PIC2_DATA       0xa1
#define PIC_EOI         0x20

/* 8254 programmable interval timer. */
#define PIT_CH0         0x40
#define PIT_CMD         0x43
#define PIT_HZ          1193182

#endif
