#include "usercall.h"
#include "console.h"
#include "io.h"
#include "timer.h"

static void report(void) {
    report_due = false;
    put_string(TO_DEBUGCON, "ferry-workload: ticks=");
    put_decimal(TO_DEBUGCON, timer_ticks);
    put_string(TO_DEBUGCON, " pages=");
    put_decimal(TO_DEBUGCON, pages_written);
    put_string(TO_DEBUGCON, "\n");
}

void kernel_call(uint64_t request, uint64_t argument) {
    switch (request) {
    case USER_WAIT_FOR_TICK:
        /* Interrupts are off since the #GP: a tick cannot slip in between the test and the hlt. */
        wait_for_tick((uint32_t) argument);
        __asm__ volatile("cli" : : : "memory");
        break;
    case USER_REPORT:
        report();
        break;
    case USER_FILLED:
        put_string(TO_DEBUGCON, "ferry-workload: filled ");
        put_decimal(TO_DEBUGCON, argument);
        put_string(TO_DEBUGCON, " pages at tick ");
        put_decimal(TO_DEBUGCON, timer_ticks);
        put_string(TO_DEBUGCON, "\n");
        break;
    default:
        put_string(TO_BOTH, "\nferry-workload: unknown user request ");
        put_hex(TO_BOTH, request);
        put_string(TO_BOTH, ", halted\n");
        halt_forever();
    }
}
