/*
 * The workload kernel's Multiboot v1 header, entry point and interrupt entry stubs.
 *
 * Entry contract (Multiboot v1): 32-bit protected mode, paging off, EAX = 0x2BADB002,
 * EBX = physical address of the Multiboot information, CS/DS flat, A20 on, interrupts off.
 * The stack pointer is not trusted; GDT and IDT are our own from the first instructions on,
 * so the loader's descriptor tables may be anywhere or gone.
 */
#include "ports.h"

#define MULTIBOOT_MAGIC         0x1BADB002
#define MULTIBOOT_PAGE_ALIGN    (1 << 0)
#define MULTIBOOT_MEMORY_INFO   (1 << 1)
/* Load through the fields below rather than the ELF headers: lets a loader skip ELF parsing. */
#define MULTIBOOT_AOUT_KLUDGE   (1 << 16)
#define MULTIBOOT_FLAGS         (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_AOUT_KLUDGE)
#define MULTIBOOT_BOOTED        0x2BADB002

#define CODE_SELECTOR           0x08
#define DATA_SELECTOR           0x10
#define STACK_SIZE              16384

    .section .multiboot, "a"
    .p2align 2
multiboot_header:
    .long MULTIBOOT_MAGIC
    .long MULTIBOOT_FLAGS
    .long (0 - MULTIBOOT_MAGIC - MULTIBOOT_FLAGS) & 0xffffffff
    .long multiboot_header      /* header_addr */
    .long _load_start           /* load_addr: file bytes from here... */
    .long _load_end             /* load_end_addr: ...to here */
    .long _bss_end              /* bss_end_addr: zeroed up to here */
    .long _start                /* entry_addr */

    .text
    .globl _start
_start:
    cli
    cld
    lgdt gdt_descriptor
    ljmp $CODE_SELECTOR, $flat
flat:
    mov $DATA_SELECTOR, %cx
    mov %cx, %ds
    mov %cx, %es
    mov %cx, %fs
    mov %cx, %gs
    mov %cx, %ss
    mov $stack_top, %esp

    /* Anything but the Multiboot magic means EBX is no information pointer. */
    cmp $MULTIBOOT_BOOTED, %eax
    je 1f
    xor %ebx, %ebx
1:
    /* Zero .bss ourselves: a loader that ignores bss_end_addr must not leave us garbage. The
     * stack lives in .bss, but nothing is on it yet; EAX/EBX survive (stosl uses EDI/ECX). */
    mov %eax, %esi
    mov $_bss_start, %edi
    mov $_bss_end, %ecx
    sub %edi, %ecx
    shr $2, %ecx
    xor %eax, %eax
    rep stosl

    push %ebx                   /* struct multiboot_info * (or NULL) */
    push %esi                   /* the magic the loader passed */
    call workload_main
    /* workload_main does not return. */
2:  cli
    hlt
    jmp 2b

/*
 * Exception stubs: bring every vector to the same frame (vector, error code, EIP, CS, EFLAGS)
 * which is exactly the cdecl argument list of on_exception(vector, error, eip).
 */
.macro exception_stub vector
exception_\vector:
    .if !((\vector == 8) || (\vector == 10) || (\vector == 11) || (\vector == 12) || (\vector == 13) || (\vector == 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30))
    push $0                     /* the CPU pushes no error code for this vector */
    .endif
    push $\vector
    jmp exception_common
.endm

.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    exception_stub \vector
.endr

exception_common:
    cld
    call on_exception           /* does not return */
3:  cli
    hlt
    jmp 3b

    .globl timer_interrupt
timer_interrupt:
    pushal
    cld
    call on_tick
    popal
    iret

    /* A spurious IRQ7 or local-APIC spurious vector is not in service: no EOI. */
    .globl spurious_interrupt
spurious_interrupt:
    iret

    /* A spurious IRQ15 is not in service at the slave, but the master saw IRQ2 and wants EOI. */
    .globl spurious_slave_interrupt
spurious_slave_interrupt:
    push %eax
    mov $PIC_EOI, %al
    out %al, $PIC1_CMD
    pop %eax
    iret

    .section .rodata
    .p2align 2
    .globl exception_stubs
exception_stubs:
.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .long exception_\vector
.endr

    .p2align 3
gdt:
    .quad 0                     /* null */
    .quad 0x00cf9a000000ffff    /* 0x08: code, base 0, limit 4 GiB, 32-bit, ring 0 */
    .quad 0x00cf92000000ffff    /* 0x10: data, base 0, limit 4 GiB, ring 0 */
gdt_end:
gdt_descriptor:
    .word gdt_end - gdt - 1
    .long gdt

    .bss
    .p2align 4
stack:
    .skip STACK_SIZE
stack_top:
