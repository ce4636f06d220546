/*
 * The 1 kHz tick: PIT through the 8259 PIC, or the local APIC timer calibrated against the PIT.
 * Each tick counts, writes the heartbeat byte and, once a second, the status word.
 */
#ifndef FERRY_WORKLOAD_TIMER_H
#define FERRY_WORKLOAD_TIMER_H

#include "config.h"
#include "types.h"

#define TICK_HZ 1000

/* Written by the tick handler only. */
extern volatile uint32_t timer_ticks;
/* Set by the tick handler once a second; the event loop clears it after reporting. */
extern volatile bool report_due;
/* Written by the event loop only (one store per page); the tick handler publishes it on the status port. */
extern volatile uint32_t pages_written;

/*
 * Programs the PIC, PIT (and with timer=lapic, the APIC timer's calibration, which the ticks then
 * drive to the switch) but leaves interrupts off: the event loop turns them on. Falls back to the
 * PIT, saying so on 0xE9, when the local APIC is missing or does not count.
 */
void timer_start(enum timer_source wanted, bool heartbeat);

/* Called with interrupts off from timer_interrupt in entry.S, before it restarts the event loop. */
void on_tick(void);

#endif
