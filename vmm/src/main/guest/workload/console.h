/*
 * Text output. The debug console (port 0xE9) is the VMM's log; COM1 carries the same one-off
 * lines and, once the timer runs, the heartbeat bytes.
 */
#ifndef FERRY_WORKLOAD_CONSOLE_H
#define FERRY_WORKLOAD_CONSOLE_H

#include "types.h"

enum console_target {
    TO_DEBUGCON = 1,
    TO_SERIAL = 2,
    TO_BOTH = TO_DEBUGCON | TO_SERIAL,
};

void serial_init(void);
void put_string(enum console_target target, const char *text);
void put_decimal(enum console_target target, uint64_t value);
void put_hex(enum console_target target, uint32_t value);

#endif
