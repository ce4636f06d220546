/* The workload's configuration, parsed from the Multiboot command line. */
#ifndef FERRY_WORKLOAD_CONFIG_H
#define FERRY_WORKLOAD_CONFIG_H

#include "types.h"

enum pattern { PATTERN_UNIFORM, PATTERN_HOTSPOT, PATTERN_SEQUENTIAL };
enum timer_source { TIMER_PIT, TIMER_LAPIC };

struct config {
    uint64_t rate;          /* bytes of pages dirtied per second; ignored when rate_max */
    bool rate_max;
    enum pattern pattern;
    uint32_t hot_percent;   /* share of the working set that takes 90% of hotspot writes */
    uint64_t wss;           /* working-set bytes from WORKING_SET_BASE */
    enum timer_source timer;
    bool heartbeat;
    bool report;            /* a text line per second on the debug console */
    bool fill;              /* write every working-set page once at start, before the rate applies */
};

/* Fills config from the command line (NULL means none: idle). Returns false after printing why. */
bool config_parse(const char *cmdline, struct config *config);

const char *pattern_name(enum pattern pattern);
const char *timer_name(enum timer_source timer);

#endif
