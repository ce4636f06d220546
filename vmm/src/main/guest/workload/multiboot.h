/* The parts of the Multiboot v1 information structure the workload reads. */
#ifndef FERRY_WORKLOAD_MULTIBOOT_H
#define FERRY_WORKLOAD_MULTIBOOT_H

#include "types.h"

#define MULTIBOOT_BOOTED        0x2BADB002
#define MULTIBOOT_INFO_MEMORY   (1u << 0)   /* mem_lower, mem_upper valid */
#define MULTIBOOT_INFO_CMDLINE  (1u << 2)   /* cmdline valid */
#define MULTIBOOT_INFO_MMAP     (1u << 6)   /* mmap_length, mmap_addr valid */
#define MULTIBOOT_MEMORY_RAM    1

struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower;     /* KiB below 1 MiB */
    uint32_t mem_upper;     /* KiB of contiguous RAM from 1 MiB */
    uint32_t boot_device;
    uint32_t cmdline;       /* physical address of a NUL-terminated string */
    uint32_t mods_count;
    uint32_t mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length;
    uint32_t mmap_addr;
} __attribute__((packed));

/* Each entry is preceded by its size, which does not count the size field itself. */
struct multiboot_mmap_entry {
    uint32_t size;
    uint64_t base;
    uint64_t length;
    uint32_t type;
} __attribute__((packed));

#endif
