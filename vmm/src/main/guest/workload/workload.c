/*
 * The workload guest: dirties guest pages at a configured rate and pattern while a 1 kHz tick
 * sends heartbeats, so a migration can be measured against a guest that keeps writing and
 * keeps time. Configuration arrives on the Multiboot command line (see config.c, README.md).
 */
#include "config.h"
#include "console.h"
#include "interrupts.h"
#include "io.h"
#include "multiboot.h"
#include "timer.h"
#include "usercall.h"

#define PAGE_SIZE           4096u
#define PAGE_SHIFT          12
#define WORKING_SET_BASE    0x400000ull     /* 4 MiB: above the image, the stack and the loader's data */
#define RAM_CEILING         0xc0000000ull   /* 3 GiB: stay below where a VMM puts MMIO holes */
/* One page is owed per PAGE_COST units of credit; each tick adds `rate` units: rate / 4096 / 1000. */
#define PAGE_COST           ((uint64_t) PAGE_SIZE * TICK_HZ)
#define HOTSPOT_HOT_SHARE   9               /* out of 10 writes go to the hot pages */

struct working_set {
    uint32_t base;
    uint32_t pages;
    uint32_t hot_pages;
};

void workload_main(uint32_t magic, const struct multiboot_info *info) __attribute__((noreturn));

static const char *command_line(uint32_t magic, const struct multiboot_info *info) {
    if (magic != MULTIBOOT_BOOTED || info == NULL) {
        put_string(TO_BOTH, "ferry-workload: not started by a Multiboot loader, idle defaults\n");
        return NULL;
    }
    if (!(info->flags & MULTIBOOT_INFO_CMDLINE) || info->cmdline == 0) {
        return NULL;
    }
    return (const char *) (uintptr_t) info->cmdline;
}

/* The end of the RAM that holds the working set's base, or 0 when the loader did not say. */
static uint64_t ram_end(uint32_t magic, const struct multiboot_info *info) {
    if (magic != MULTIBOOT_BOOTED || info == NULL) {
        return 0;
    }
    if (info->flags & MULTIBOOT_INFO_MMAP) {
        uint32_t at = info->mmap_addr;
        uint32_t end = info->mmap_addr + info->mmap_length;
        while (at < end) {
            const struct multiboot_mmap_entry *entry = (const struct multiboot_mmap_entry *) (uintptr_t) at;
            if (entry->type == MULTIBOOT_MEMORY_RAM && entry->base <= WORKING_SET_BASE
                    && entry->base + entry->length > WORKING_SET_BASE) {
                return entry->base + entry->length;
            }
            at += entry->size + sizeof entry->size;
        }
        return WORKING_SET_BASE;    /* a map without RAM at 4 MiB: nothing to dirty */
    }
    if (info->flags & MULTIBOOT_INFO_MEMORY) {
        return 0x100000ull + (uint64_t) info->mem_upper * 1024;
    }
    return 0;
}

static struct working_set working_set_fit(struct config *config, uint64_t end) {
    if (end == 0) {
        put_string(TO_BOTH, "ferry-workload: the loader gave no memory size, trusting wss\n");
        end = RAM_CEILING;
    }
    if (end > RAM_CEILING) {
        end = RAM_CEILING;
    }
    uint64_t room = end > WORKING_SET_BASE ? (end - WORKING_SET_BASE) & ~(uint64_t) (PAGE_SIZE - 1) : 0;
    if (config->wss > room) {
        put_string(TO_BOTH, "ferry-workload: wss ");
        put_decimal(TO_BOTH, config->wss);
        put_string(TO_BOTH, " clamped to ");
        put_decimal(TO_BOTH, room);
        put_string(TO_BOTH, " (usable RAM ends at ");
        put_hex(TO_BOTH, end);
        put_string(TO_BOTH, ")\n");
        config->wss = room;
    }
    struct working_set set;
    set.base = (uint32_t) WORKING_SET_BASE;
    set.pages = (uint32_t) (config->wss >> PAGE_SHIFT);
    set.hot_pages = set.pages * config->hot_percent / 100;
    if (set.hot_pages == 0) {
        set.hot_pages = set.pages ? 1 : 0;
    }
    return set;
}

static void print_config(const struct config *config) {
    put_string(TO_BOTH, "ferry-workload rate=");
    if (config->rate_max) {
        put_string(TO_BOTH, "max");
    } else {
        put_decimal(TO_BOTH, config->rate);
    }
    put_string(TO_BOTH, " pattern=");
    put_string(TO_BOTH, pattern_name(config->pattern));
    put_string(TO_BOTH, " wss=");
    put_decimal(TO_BOTH, config->wss);
    put_string(TO_BOTH, " timer=");
    put_string(TO_BOTH, timer_name(config->timer));
    put_string(TO_BOTH, " hot=");
    put_decimal(TO_BOTH, config->hot_percent);
    put_string(TO_BOTH, " fill=");
    put_decimal(TO_BOTH, config->fill);
    put_string(TO_BOTH, " heartbeat=");
    put_decimal(TO_BOTH, config->heartbeat);
    put_string(TO_BOTH, "\n");
}

static uint32_t random_state = 2463534242u;

/* xorshift32: cheap, never zero, and plenty uniform for choosing pages. */
static uint32_t random_next(void) {
    uint32_t x = random_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    random_state = x;
    return x;
}

/* A value in [0, bound) without division: the high half of a 32x32 product. */
static uint32_t random_below(uint32_t bound) {
    return (uint32_t) (((uint64_t) random_next() * bound) >> 32);
}

static uint32_t sequential_cursor;

static uint32_t next_page(const struct config *config, const struct working_set *set) {
    switch (config->pattern) {
    case PATTERN_SEQUENTIAL: {
        uint32_t page = sequential_cursor;
        sequential_cursor = page + 1 < set->pages ? page + 1 : 0;
        return page;
    }
    case PATTERN_HOTSPOT:
        if (random_below(10) < HOTSPOT_HOT_SHARE) {
            return random_below(set->hot_pages);
        }
        return random_below(set->pages);
    default:
        return random_below(set->pages);
    }
}

/* Two words at either end of the first half and one mid-page: never all-zero once touched, and
 * a different value each time, so a copied page that is stale can be told from a fresh one. */
static void dirty_page(const struct working_set *set, uint32_t page) {
    volatile uint32_t *words = (volatile uint32_t *) ((uintptr_t) set->base + ((uintptr_t) page << PAGE_SHIFT));
    uint32_t count = pages_written + 1;
    words[0] = timer_ticks | 1;
    words[1] = count;
    words[PAGE_SIZE / 8] = count | 1;
    pages_written = count;
}

static struct config settings;
static struct working_set working_set;
static uint8_t user_stack[16384] __attribute__((aligned(16)));

/* Runs in user mode, where kvm_pvm runs code natively: it touches no port and halts or prints
 * only through user_call. */
static void __attribute__((noreturn)) dirty_forever(void) {
    const struct config *config = &settings;
    const struct working_set *set = &working_set;
    bool idle = set->pages == 0 || (!config->rate_max && config->rate == 0);
    /* More than a second's worth of debt is not caught up: a slow vCPU just runs flat out.
     * Slow rates still need room for one whole page. */
    uint64_t credit_cap = config->rate * TICK_HZ;
    if (credit_cap < PAGE_COST) {
        credit_cap = PAGE_COST;
    }
    uint64_t credit = 0;
    if (config->fill) {
        for (uint32_t page = 0; page < set->pages; page++) {
            dirty_page(set, page);
        }
        user_call(USER_FILLED, set->pages);
    }
    uint32_t seen = timer_ticks;
    for (;;) {
        if (report_due && config->report) {
            user_call(USER_REPORT, 0);
        }
        if (idle) {
            user_call(USER_WAIT_FOR_TICK, seen);
            seen = timer_ticks;
            continue;
        }
        if (config->rate_max) {
            dirty_page(set, next_page(config, set));
            continue;
        }
        uint32_t now = timer_ticks;
        credit += (uint64_t) (now - seen) * config->rate;
        seen = now;
        if (credit > credit_cap) {
            credit = credit_cap;
        }
        /* Leave the burst when a tick arrives, so its credit and any report are taken in order. */
        while (credit >= PAGE_COST && timer_ticks == seen) {
            dirty_page(set, next_page(config, set));
            credit -= PAGE_COST;
        }
        user_call(USER_WAIT_FOR_TICK, seen);
    }
}

void workload_main(uint32_t magic, const struct multiboot_info *info) {
    serial_init();
    interrupts_init();
    if (!config_parse(command_line(magic, info), &settings)) {
        put_string(TO_BOTH, "ferry-workload: bad command line, halted\n");
        halt_forever();
    }
    working_set = working_set_fit(&settings, ram_end(magic, info));
    print_config(&settings);
    timer_start(settings.timer, settings.heartbeat);
    enter_user_mode(dirty_forever, user_stack + sizeof user_stack);
}
