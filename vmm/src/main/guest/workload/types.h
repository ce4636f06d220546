/* Freestanding: no libc headers, so the fixed-width types are spelled out for x86-64 (LP64). */
#ifndef FERRY_WORKLOAD_TYPES_H
#define FERRY_WORKLOAD_TYPES_H

typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long uint64_t;
typedef unsigned long uintptr_t;
typedef int int32_t;
typedef int bool;
#define true 1
#define false 0
#define NULL ((void *) 0)

_Static_assert(sizeof(uint32_t) == 4, "built with -m64");
_Static_assert(sizeof(uint64_t) == 8, "built with -m64");
_Static_assert(sizeof(void *) == 8, "built with -m64");

#endif
