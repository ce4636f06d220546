/* Freestanding: no libc headers, so the fixed-width types are spelled out for i386. */
#ifndef FERRY_WORKLOAD_TYPES_H
#define FERRY_WORKLOAD_TYPES_H

typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef int int32_t;
typedef int bool;
#define true 1
#define false 0
#define NULL ((void *) 0)

_Static_assert(sizeof(uint32_t) == 4, "built with -m32");
_Static_assert(sizeof(void *) == 4, "built with -m32");

#endif
