/*
 * The workload kernel's Multiboot v1 header, its 32-bit entry trampoline into long mode, and the
 * 64-bit interrupt entry stubs.
 *
 * Entry contract (Multiboot v1): 32-bit protected mode, paging off, EAX = 0x2BADB002,
 * EBX = physical address of the Multiboot information, CS/DS flat, A20 on, interrupts off.
 * The stack pointer is not trusted; GDT and IDT are our own from the first instructions on,
 * so the loader's descriptor tables may be anywhere or gone.
 *
 * Everything after the trampoline runs in 64-bit mode, and the dirtying loop in 64-bit user mode
 * (CPL 3). On a nested KVM without hardware virtualization (kvm_pvm) only 64-bit user-mode code
 * runs natively: kernel-mode code, 64-bit included, goes through KVM's instruction emulator at
 * about a microsecond an instruction, and 32-bit code cannot even IRET there. So the 32-bit part
 * is the fifteen instructions that switch modes, the page tables are built at link time, and the
 * kernel only sets up, takes the tick and halts for the user loop (see general_protection).
 */
#include "ports.h"

#define MULTIBOOT_MAGIC         0x1BADB002
#define MULTIBOOT_PAGE_ALIGN    (1 << 0)
#define MULTIBOOT_MEMORY_INFO   (1 << 1)
/* Load through the fields below rather than the ELF headers: lets a loader skip ELF parsing. */
#define MULTIBOOT_AOUT_KLUDGE   (1 << 16)
#define MULTIBOOT_FLAGS         (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_AOUT_KLUDGE)

#define CODE64_SELECTOR         0x08
#define DATA_SELECTOR           0x10
#define USER_CODE64_SELECTOR    (0x18 | 3)
#define USER_DATA_SELECTOR      (0x20 | 3)
#define STACK_SIZE              16384
/* RFLAGS in user mode: interrupts on. No IOPL: kvm_pvm drops it at the first exit anyway. */
#define USER_RFLAGS             0x0202
#define HLT_OPCODE              0xf4

/* User, writable, present: the user-mode loop reaches the same identity map as the kernel. */
#define PAGE_PRESENT_RW         0x007
#define PAGE_HUGE               0x080   /* a 2 MiB page in a page directory */
#define IDENTITY_GIB            4       /* page directories: 1 GiB each */
#define CR4_PAE                 (1 << 5)
#define CR0_PG                  (1 << 31)
#define MSR_EFER                0xc0000080
#define EFER_LME                (1 << 8)

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

    .code32
    .text
    .globl _start
_start:
    /* EBX (the information pointer) is left alone throughout; EBP keeps the loader's magic. */
    cli
    mov %eax, %ebp
    /* The architectural order: PAE, CR3, EFER.LME, then paging, which activates long mode. */
    mov $CR4_PAE, %eax
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
    mov $DATA_SELECTOR, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %fs
    mov %eax, %gs
    mov %eax, %ss
    cld
    /* Zero .bss ourselves: a loader that ignores bss_end_addr must not leave us garbage. The
     * stack lives in .bss, but nothing is on it yet. */
    mov $_bss_start, %edi
    mov $_bss_end, %ecx
    sub %edi, %ecx
    shr $3, %ecx
    xor %eax, %eax
    rep stosq
    mov $stack_top, %esp

    mov %ebp, %edi              /* the magic the loader passed */
    mov %ebx, %esi              /* struct multiboot_info * (meaningful only with the magic) */
    call workload_main
    /* workload_main does not return. */
1:  cli
    hlt
    jmp 1b

/*
 * void enter_user_mode(void (*entry)(void), void *stack_top): continues at entry in 64-bit user
 * mode on the given stack, interrupts on. Never returns; interrupts from user mode arrive on the
 * TSS's RSP0 stack.
 */
    .globl enter_user_mode
enter_user_mode:
    pushq $USER_DATA_SELECTOR
    push %rsi
    pushq $USER_RFLAGS
    pushq $USER_CODE64_SELECTOR
    push %rdi
    iretq

/* Saves every general-purpose register (15 pushes: with the CPU's 5-word frame, RSP stays 16-aligned). */
.macro push_all
    push %rax
    push %rcx
    push %rdx
    push %rbx
    push %rbp
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
.endm

.macro pop_all
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rbp
    pop %rbx
    pop %rdx
    pop %rcx
    pop %rax
.endm

/* Exception stubs: bring every vector to the same frame (vector, error code, RIP, CS, RFLAGS, RSP, SS). */
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

/*
 * #GP, where a hlt in user mode lands: the user loop's only way into the kernel (on kvm_pvm, int n
 * and syscall are not available to it). The user passes a request in RDI and its argument in RSI
 * (see usercall.h); kernel_call serves it, then the user resumes after its hlt. Any other #GP is
 * reported like every other exception. Frame: error code, RIP, CS, RFLAGS, RSP, SS.
 */
    .globl general_protection
general_protection:
    testb $3, 16(%rsp)
    jz exception_13
    push %rax
    mov 16(%rsp), %rax
    cmpb $HLT_OPCODE, (%rax)
    pop %rax
    jne exception_13
    incq 8(%rsp)
    add $8, %rsp
    push_all
    cld
    call kernel_call            /* (request, argument): still in RDI and RSI */
    pop_all
    iretq

exception_common:
    cld
    mov (%rsp), %rdi            /* vector */
    mov 8(%rsp), %rsi           /* error code */
    mov 16(%rsp), %rdx          /* RIP */
    and $-16, %rsp
    call on_exception           /* does not return */
2:  cli
    hlt
    jmp 2b

    .globl timer_interrupt
timer_interrupt:
    push_all
    cld
    call on_tick
    pop_all
    iretq

    /* A spurious IRQ7 or local-APIC spurious vector is not in service: no EOI. */
    .globl spurious_interrupt
spurious_interrupt:
    iretq

    /* A spurious IRQ15 is not in service at the slave, but the master saw IRQ2 and wants EOI. */
    .globl spurious_slave_interrupt
spurious_slave_interrupt:
    push %rax
    mov $PIC_EOI, %al
    out %al, $PIC1_CMD
    pop %rax
    iretq

    .section .rodata
    .p2align 3
    .globl exception_stubs
exception_stubs:
.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exception_\vector
.endr

    .section .data
    .p2align 3
    .globl gdt
gdt:
    .quad 0                     /* null */
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code, ring 0 */
    .quad 0x00cf92000000ffff    /* 0x10: data, base 0, limit 4 GiB, ring 0 */
    .quad 0x00affa000000ffff    /* 0x18: 64-bit code, ring 3 */
    .quad 0x00cff2000000ffff    /* 0x20: data, ring 3 */
    .quad 0, 0                  /* 0x28: the TSS, filled in by interrupts_init */
gdt_end:
gdt_descriptor:
    .word gdt_end - gdt - 1
    .long gdt

/*
 * Identity map of the first 4 GiB in 2 MiB pages, complete at link time: no loop runs in the
 * emulated 32-bit code. It covers the image, the working set (at most up to 3 GiB) and the local
 * APIC at 0xFEE00000. In .data, so the .bss clearing never touches it.
 */
    .section .data.page_tables, "aw"
    .p2align 12
pml4:
    .quad pdpt + PAGE_PRESENT_RW
    .fill 511, 8, 0
pdpt:
    .set gib, 0
    .rept IDENTITY_GIB
    .quad page_directories + gib * 4096 + PAGE_PRESENT_RW
    .set gib, gib + 1
    .endr
    .fill 512 - IDENTITY_GIB, 8, 0
page_directories:
    .set frame, 0
    .rept IDENTITY_GIB * 512
    .quad (frame << 21) | PAGE_HUGE | PAGE_PRESENT_RW
    .set frame, frame + 1
    .endr

    .bss
    .p2align 4
stack:
    .skip STACK_SIZE
stack_top:
