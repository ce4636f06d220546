/*
 * hello-longmode.bin: proves a VMM's long-mode setup (GDT, 4-level identity paging, EFER, CR0/CR4)
 * without any 16- or 32-bit code of its own.
 *
 * Entry contract: 64-bit long mode, CPL 0, RIP = 0x100000 (the payload's first byte), the first
 * 4 GiB identity-mapped. No stack is used, so RSP may be anything; interrupts are never enabled.
 */
#include "ports.h"

    .code64
    .section .text.entry, "ax"
    .globl _start
_start:
    cli
    cld

    mov $COM1_IER, %dx
    xor %al, %al
    out %al, %dx
    mov $COM1_LCR, %dx
    mov $LCR_DLAB, %al
    out %al, %dx
    mov $COM1_DLL, %dx
    mov $1, %al
    out %al, %dx
    mov $COM1_DLM, %dx
    xor %al, %al
    out %al, %dx
    mov $COM1_LCR, %dx
    mov $LCR_8N1, %al
    out %al, %dx

    /* RIP-relative, so the payload would still print if a loader placed it elsewhere. */
    lea message(%rip), %rsi
next_byte:
    lodsb
    test %al, %al
    jz done
    mov %al, %bl
    mov $COM1_LSR, %dx
wait_thr:
    in %dx, %al
    test $LSR_THR_EMPTY, %al
    jz wait_thr
    mov $COM1_THR, %dx
    mov %bl, %al
    out %al, %dx
    jmp next_byte

done:
    /* 'd' for done: a single byte a test can check without parsing the serial output. */
    mov $0x64, %al
    out %al, $DEBUGCON
halt:
    cli
    hlt
    jmp halt

message:
    .asciz "Hello from long mode\r\n"
