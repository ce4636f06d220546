/*
 * triple-fault-longmode.bin: a flat 64-bit payload that makes the CPU shut down, so a VMM can test
 * its handling of KVM_EXIT_SHUTDOWN (QEMU with -no-reboot simply exits).
 *
 * With an interrupt table of limit 0 every vector lies beyond the limit: ud2 raises #UD, which
 * cannot be delivered and becomes #GP, then #DF, and a #DF that cannot be delivered is a triple
 * fault. It runs in long mode because on a nested KVM without hardware virtualization only 64-bit
 * code runs natively; real-mode code goes through KVM's emulator, which ignores the IDT limit.
 * Before faulting it announces itself on the debug console so a test can tell "ran and faulted"
 * from "never ran".
 *
 * Entry contract: as hello-longmode.bin (64-bit, CPL 0, RIP = 0x100000, its first byte). No
 * stack, no memory but its own bytes (RIP-relative).
 */
#include "ports.h"

    .code64
    .section .text.entry, "ax"
    .globl _start
_start:
    cli
    cld
    lea message(%rip), %rsi
next_byte:
    lodsb
    test %al, %al
    jz fault
    out %al, $DEBUGCON
    jmp next_byte

fault:
    lidt empty_idt(%rip)
    ud2
    /* Not reached: the CPU has shut down. */
stop:
    hlt
    jmp stop

    .p2align 3
empty_idt:
    .word 0         /* limit */
    .quad 0         /* base */

message:
    .asciz "triple-fault: ud2 with an empty IDT\n"
