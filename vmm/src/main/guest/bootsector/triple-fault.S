/*
 * triple-fault.bin: a boot sector that makes the CPU shut down, so a VMM can test its handling
 * of KVM_EXIT_SHUTDOWN (QEMU with -no-reboot simply exits).
 *
 * With an interrupt table of limit 0 every vector lies beyond the limit: int3 raises #GP, #GP
 * cannot be delivered either and becomes #DF, and a #DF that cannot be delivered is a triple
 * fault. Before that it announces itself on the debug console so a test can tell "ran and
 * faulted" from "never ran".
 */
#include "ports.h"

    .code16
    .text
    .globl _start
_start:
    cli
    ljmp $0, $normalized
normalized:
    xor %ax, %ax
    mov %ax, %ds
    cld
    mov $message, %si
    mov $DEBUGCON, %dx
next_byte:
    lodsb
    test %al, %al
    jz fault
    out %al, %dx
    jmp next_byte

fault:
    lidt empty_idt
    int3
    /* Not reached: the CPU has shut down. */
stop:
    hlt
    jmp stop

    .p2align 2
empty_idt:
    .word 0         /* limit */
    .long 0         /* base */

message:
    .asciz "triple-fault: int3 with an empty IDT\n"
