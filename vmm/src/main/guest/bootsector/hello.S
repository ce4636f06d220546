/*
 * hello-bootsector.bin: the smallest guest that proves a VMM can boot a disk.
 *
 * Entry contract: 16-bit real mode at 0000:7C00, DL = boot drive (0x80). No BIOS services are
 * used, so a VMM without firmware can run it: only port I/O to COM1, then cli; hlt.
 */
#include "ports.h"

    .code16
    .text
    .globl _start
_start:
    cli
    /* A BIOS may enter at 07C0:0000 instead; a far jump makes CS:IP agree with the link address. */
    ljmp $0, $normalized
normalized:
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x7c00, %sp
    cld

    /* 115200 8N1, no interrupts: enough for a real 16550, harmless for an emulated one. */
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

    mov $message, %si
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
    cli
    hlt
    /* An NMI can wake hlt even with interrupts off: stay halted. */
    jmp done

message:
    .asciz "Hello from a Ferry boot sector\r\n"
