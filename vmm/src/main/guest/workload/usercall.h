/*
 * How the user-mode dirtying loop asks the kernel for what user mode cannot do: halting until a
 * tick and writing to the console. The loop runs in user mode because there kvm_pvm runs it
 * natively; a hlt there raises #GP, and the #GP handler (entry.S) takes RDI as the request and
 * RSI as its argument.
 */
#ifndef FERRY_WORKLOAD_USERCALL_H
#define FERRY_WORKLOAD_USERCALL_H

#include "types.h"

enum user_request {
    USER_WAIT_FOR_TICK = 1,     /* argument: the tick count seen; returns once it has moved on */
    USER_REPORT = 2,            /* prints the once-a-second report line on the debug console */
    USER_FILLED = 3,            /* argument: pages the fill wrote; says so on the debug console */
};

static inline void user_call(enum user_request request, uint64_t argument) {
    __asm__ volatile("hlt" : : "D"((uint64_t) request), "S"(argument) : "memory");
}

/* Kernel side, called from the #GP handler with interrupts off. */
void kernel_call(uint64_t request, uint64_t argument);

#endif
