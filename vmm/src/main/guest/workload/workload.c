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

void workload_main(uint32_t magic, const struct multiboot_info *info);
void event_loop(void) __attribute__((noreturn));

/* Set up by workload_main before interrupts go on; read-only afterwards. */
static struct config config;
static struct working_set set;
static bool idle;
static uint64_t credit_cap;

static const char *command_line(uint32_t magic, const struct multiboot_info *info) {
    if (magic != MULTIBOOT_BOOTED || info == NULL) {
        put_string(TO_BOTH, "ferry-workload: not started by a Multiboot loader, idle defaults\n");
        return NULL;
    }
    if (!(info->flags & MULTIBOOT_INFO_CMDLINE) || info->cmdline == 0) {
        return NULL;
    }
    return (const char *) info->cmdline;
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
            const struct multiboot_mmap_entry *entry = (const struct multiboot_mmap_entry *) at;
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
        put_hex(TO_BOTH, (uint32_t) end);
        put_string(TO_BOTH, ")\n");
        config->wss = room;
    }
    struct working_set fitted;
    fitted.base = (uint32_t) WORKING_SET_BASE;
    fitted.pages = (uint32_t) (config->wss >> PAGE_SHIFT);
    fitted.hot_pages = fitted.pages * config->hot_percent / 100;
    if (fitted.hot_pages == 0) {
        fitted.hot_pages = fitted.pages ? 1 : 0;
    }
    return fitted;
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
    put_string(TO_BOTH, " heartbeat=");
    put_decimal(TO_BOTH, config->heartbeat);
    put_string(TO_BOTH, "\n");
}

/*
 * A bijective 32-bit mix (the MurmurHash3 finaliser): the random patterns pick the page for the
 * n-th write from n alone, so the page choice keeps no state of its own that an interrupt could
 * leave half-updated.
 */
static uint32_t mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return x;
}

/* A value in [0, bound) without division: the high half of a 32x32 product. */
static uint32_t scale_below(uint32_t random, uint32_t bound) {
    return (uint32_t) (((uint64_t) random * bound) >> 32);
}

/* The page the write with index `written` (the count of pages written before it) hits. */
static uint32_t page_for(uint32_t written) {
    switch (config.pattern) {
    case PATTERN_SEQUENTIAL:
        return written % set.pages;
    case PATTERN_HOTSPOT:
        if (scale_below(mix32(written ^ 0x9e3779b9u), 10) < HOTSPOT_HOT_SHARE) {
            return scale_below(mix32(written), set.hot_pages);
        }
        return scale_below(mix32(written), set.pages);
    default:
        return scale_below(mix32(written), set.pages);
    }
}

/*
 * One page write. Two words at either end of the first half and one mid-page: never all-zero once
 * touched, and a different value each time, so a copied page that is stale can be told from a
 * fresh one. The page comes from pages_written and the write is committed by one store to it, so
 * a tick may discard this anywhere: at worst the same page is written again with the same count,
 * which is harmless.
 */
static void dirty_next_page(void) {
    uint32_t written = pages_written;
    volatile uint32_t *words = (volatile uint32_t *) (set.base + (page_for(written) << PAGE_SHIFT));
    uint32_t count = written + 1;
    words[0] = timer_ticks | 1;
    words[1] = count;
    words[PAGE_SIZE / 8] = count | 1;
    pages_written = count;
}

static void report(void) {
    put_string(TO_DEBUGCON, "ferry-workload: ticks=");
    put_decimal(TO_DEBUGCON, timer_ticks);
    put_string(TO_DEBUGCON, " pages=");
    put_decimal(TO_DEBUGCON, pages_written);
    put_string(TO_DEBUGCON, "\n");
}

/* (high:low) / divisor for a quotient that fits 32 bits, without libgcc's 64-bit division. */
static uint32_t divide_u64(uint64_t dividend, uint32_t divisor, uint32_t *remainder) {
    uint32_t quotient, rest;
    __asm__("divl %4" : "=a"(quotient), "=d"(rest)
            : "a"((uint32_t) dividend), "d"((uint32_t) (dividend >> 32)), "rm"(divisor));
    *remainder = rest;
    return quotient;
}

/* Credit not yet turned into whole pages (< PAGE_COST), and the ticks already paid for. */
static uint32_t credit_fraction;
static uint32_t ticks_paid;
/* Pages the rate has paid for so far (wrapping like pages_written). */
static uint32_t pages_paid;

/*
 * Pays each tick's `rate` into the credit, capped at one second's worth including the pages paid
 * for but not yet written (a slow vCPU runs flat out instead of catching up), and turns it into
 * whole pages. Interrupts are off, so pages_written cannot move underneath.
 */
static void take_credit(void) {
    uint32_t now = timer_ticks;
    uint64_t credit = (uint64_t) (pages_paid - pages_written) * PAGE_COST + credit_fraction
            + (uint64_t) (now - ticks_paid) * config.rate;
    ticks_paid = now;
    if (credit > credit_cap) {
        credit = credit_cap;
    }
    /* The cap keeps the quotient below rate / 4096 <= 2^28 pages: the division fits. */
    pages_paid = pages_written + divide_u64(credit, (uint32_t) PAGE_COST, &credit_fraction);
}

/*
 * The workload's only thread of control. Entered with interrupts off and a fresh stack, first from
 * _start and then after every interrupt, which discards whatever this was doing (see entry.S): so
 * all its state is in memory, and each step leaves it consistent with a single store. It takes the
 * new ticks' credit and the due report with interrupts off, then with interrupts on writes the
 * pages paid for and halts until the next tick restarts it. rate=max writes forever.
 */
void event_loop(void) {
    if (report_due) {
        report_due = false;
        if (config.report) {
            report();
        }
    }
    if (!idle && !config.rate_max) {
        take_credit();
    }
    interrupts_on();
    if (!idle) {
        if (config.rate_max) {
            for (;;) {
                dirty_next_page();
            }
        }
        while ((int32_t) (pages_paid - pages_written) > 0) {
            dirty_next_page();
        }
    }
    /* No lost wake-up: a tick between the check above and hlt restarts the loop as well. */
    for (;;) {
        __asm__ volatile("hlt" : : : "memory");
    }
}

/* Configures the guest with interrupts off; _start then enters event_loop. */
void workload_main(uint32_t magic, const struct multiboot_info *info) {
    serial_init();
    interrupts_init();
    if (!config_parse(command_line(magic, info), &config)) {
        put_string(TO_BOTH, "ferry-workload: bad command line, halted\n");
        halt_forever();
    }
    set = working_set_fit(&config, ram_end(magic, info));
    print_config(&config);
    idle = set.pages == 0 || (!config.rate_max && config.rate == 0);
    /* More than a second's worth of debt is not caught up. Slow rates still need room for one page. */
    credit_cap = config.rate * TICK_HZ;
    if (credit_cap < PAGE_COST) {
        credit_cap = PAGE_COST;
    }
    timer_start(config.timer, config.heartbeat);
}
