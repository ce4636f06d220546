/*
 * longmode-shim.elf: a Multiboot v1 kernel that establishes the entry contract of
 * hello-longmode.bin (64-bit long mode, first 4 GiB identity-mapped) and jumps to 0x100000.
 *
 * It exists so the flat payload can be checked under QEMU, whose -kernel only boots 32-bit
 * Multiboot kernels: QEMU loads this shim at 2 MiB and the payload at 1 MiB with
 * "-device loader,file=hello-longmode.bin,addr=0x100000,force-raw=on". Ferry's own loader
 * does this work itself and never needs the shim.
 */
#include "ports.h"

#define MULTIBOOT_MAGIC     0x1BADB002
#define MULTIBOOT_FLAGS     ((1 << 0) | (1 << 1) | (1 << 16))
#define PAYLOAD             0x100000
#define PAGE_PRESENT_RW     0x003
#define PAGE_HUGE           0x080   /* a 2 MiB page in a page directory */
#define CR4_PAE             (1 << 5)
#define CR0_PG              (1 << 31)
#define MSR_EFER            0xc0000080
#define EFER_LME            (1 << 8)
#define CODE64_SELECTOR     0x08

    .section .multiboot, "a"
    .p2align 2
    .long MULTIBOOT_MAGIC
    .long MULTIBOOT_FLAGS
    .long (0 - MULTIBOOT_MAGIC - MULTIBOOT_FLAGS) & 0xffffffff
    .long _load_start           /* header_addr: the header is the first thing loaded */
    .long _load_start
    .long _load_end
    .long _bss_end
    .long _start

    .code32
    .text
    .globl _start
_start:
    cli
    cld
    /* The tables live in .bss; clear them rather than trust the loader to. */
    mov $pml4, %edi
    mov $((6 * 4096) / 4), %ecx
    xor %eax, %eax
    rep stosl

    /* Four page directories of 512 2 MiB pages each: 4 GiB, identity. */
    mov $page_directories, %edi
    mov $(PAGE_PRESENT_RW | PAGE_HUGE), %eax
    mov $(4 * 512), %ecx
1:  mov %eax, (%edi)
    movl $0, 4(%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 1b

    mov $page_directories + PAGE_PRESENT_RW, %eax
    mov $pdpt, %edi
    mov $4, %ecx
2:  mov %eax, (%edi)
    movl $0, 4(%edi)
    add $4096, %eax
    add $8, %edi
    loop 2b

    movl $pdpt + PAGE_PRESENT_RW, pml4
    movl $0, pml4 + 4

    /* The architectural order: PAE, CR3, EFER.LME, then paging, which activates long mode. */
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    lgdt gdt_descriptor
    mov %cr0, %eax
    or $CR0_PG, %eax
    mov %eax, %cr0
    ljmp $CODE64_SELECTOR, $long_mode

    .code64
long_mode:
    mov $PAYLOAD, %eax
    jmp *%rax

    .section .rodata
    .p2align 3
gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code, ring 0 */
    .quad 0x00cf92000000ffff    /* 0x10: data */
gdt_end:
gdt_descriptor:
    .word gdt_end - gdt - 1
    .long gdt

    .bss
    .p2align 12
pml4:
    .skip 4096
pdpt:
    .skip 4096
page_directories:
    .skip 4 * 4096
