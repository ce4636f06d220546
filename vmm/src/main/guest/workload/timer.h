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
/* Set by the tick handler once a second; the main loop clears it after reporting. */
extern volatile bool report_due;
/* Written by the main loop only; the tick handler publishes it on the status port. */
extern volatile uint32_t pages_written;

/* Starts ticking with interrupts on; returns the source actually used (lapic falls back to pit). */
enum timer_source timer_start(enum timer_source wanted, bool heartbeat);

/* Halts until the tick counter moves past seen (returns at once if it already has). */
void wait_for_tick(uint32_t seen);

/* Called from timer_interrupt in entry.S. */
void on_tick(void);

#endif
