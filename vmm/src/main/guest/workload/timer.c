#include "timer.h"
#include "console.h"
#include "interrupts.h"
#include "io.h"
#include "ports.h"

#define PIT_DIVISOR             1193    /* 1193182 Hz / 1193 = 1000.15 Hz */
#define PIT_CH0_RATE_GENERATOR  0x34    /* channel 0, low then high byte, mode 2 */
#define PIT_CH0_ONE_SHOT        0x30    /* channel 0, low then high byte, mode 0 */

#define CPUID_APIC              (1u << 9)
#define MSR_APIC_BASE           0x1b
#define APIC_BASE_ENABLE        (1u << 11)
#define APIC_TPR                0x080
#define APIC_EOI                0x0b0
#define APIC_SVR                0x0f0
#define APIC_SVR_ENABLE         (1u << 8)
#define APIC_LVT_TIMER          0x320
#define APIC_LVT_LINT0          0x350
#define APIC_LVT_LINT1          0x360
#define APIC_TIMER_INITIAL      0x380
#define APIC_TIMER_CURRENT      0x390
#define APIC_TIMER_DIVIDE       0x3e0
#define APIC_DIVIDE_BY_16       0x3
#define APIC_LVT_MASKED         (1u << 16)
#define APIC_LVT_PERIODIC       (1u << 17)
#define APIC_DELIVERY_EXTINT    (7u << 8)
#define APIC_DELIVERY_NMI       (4u << 8)
#define CALIBRATION_TICKS       11      /* odd: the median is one of them */
#define CALIBRATION_WINDOWS     5       /* windows tried before the last one is taken as it is */

volatile uint32_t timer_ticks;
volatile bool report_due;
volatile uint32_t pages_written;

static bool heartbeat_on;
static bool lapic_ticks;
static uint32_t lapic_base;
static uint32_t ticks_to_status = TICK_HZ;

void on_tick(void) {
    timer_ticks++;
    if (heartbeat_on) {
        /* One blind byte: the host timestamps each one, so a gap in them is a gap the guest saw. */
        outb(COM1_THR, '.');
    }
    if (--ticks_to_status == 0) {
        ticks_to_status = TICK_HZ;
        outl(WORKLOAD_STATUS, pages_written);
        report_due = true;
    }
    if (lapic_ticks) {
        mmio_write32(lapic_base + APIC_EOI, 0);
    } else {
        outb(PIC1_CMD, PIC_EOI);
    }
}

void wait_for_tick(uint32_t seen) {
    __asm__ volatile("cli" : : : "memory");
    if (timer_ticks == seen) {
        /* sti takes effect after hlt has begun: a tick cannot slip in between and be slept through. */
        __asm__ volatile("sti; hlt" : : : "memory");
    } else {
        __asm__ volatile("sti" : : : "memory");
    }
}

static void pic_init(uint8_t master_mask, uint8_t slave_mask) {
    outb(PIC1_CMD, 0x11);   /* ICW1: edge, cascade, ICW4 follows */
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, VECTOR_PIC_BASE);
    outb(PIC2_DATA, VECTOR_PIC_BASE + 8);
    outb(PIC1_DATA, 1u << 2);   /* the slave hangs off IRQ2 */
    outb(PIC2_DATA, 2);
    outb(PIC1_DATA, 0x01);  /* ICW4: 8086 mode, normal EOI */
    outb(PIC2_DATA, 0x01);
    outb(PIC1_DATA, master_mask);
    outb(PIC2_DATA, slave_mask);
}

static void pit_program(uint8_t mode, uint16_t count) {
    outb(PIT_CMD, mode);
    outb(PIT_CH0, (uint8_t) count);
    outb(PIT_CH0, (uint8_t) (count >> 8));
}

/* The local APIC's MMIO base, or 0 when the CPU has none or it is disabled in IA32_APIC_BASE. */
static uint32_t lapic_find(void) {
    uint32_t eax, ebx, ecx, edx;
    cpuid(1, &eax, &ebx, &ecx, &edx);
    if (!(edx & CPUID_APIC)) {
        return 0;
    }
    uint64_t base = rdmsr(MSR_APIC_BASE);
    if (!(base & APIC_BASE_ENABLE)) {
        return 0;
    }
    return (uint32_t) base & 0xfffff000u;
}

/*
 * Virtual-wire mode: the PIC's INTR reaches the CPU through LINT0 as ExtINT. Firmware usually
 * sets this up; a VMM without firmware may leave LINT0 masked, which would silence the PIT.
 * Enabling the APIC in software must come first, or the LVT writes stay masked.
 */
static void lapic_virtual_wire(uint32_t base) {
    mmio_write32(base + APIC_SVR, APIC_SVR_ENABLE | VECTOR_LAPIC_SPURIOUS);
    mmio_write32(base + APIC_TPR, 0);
    mmio_write32(base + APIC_LVT_TIMER, APIC_LVT_MASKED | VECTOR_LAPIC_TIMER);
    mmio_write32(base + APIC_LVT_LINT0, APIC_DELIVERY_EXTINT);
    mmio_write32(base + APIC_LVT_LINT1, APIC_DELIVERY_NMI);
}

static void wait_ticks(uint32_t count) {
    uint32_t target = timer_ticks + count;
    while ((int32_t) (timer_ticks - target) < 0) {
        wait_for_tick(timer_ticks);
    }
}

/*
 * Counts of the APIC timer (at divide-by-16) per millisecond, measured against PIT ticks: the
 * median of single tick intervals. A vCPU the host descheduled sees a long interval, and the
 * ticks it missed then arrive back to back (short intervals); the median ignores both.
 */
/* One calibration window: the median of CALIBRATION_TICKS single-tick intervals; *mean gets their mean. */
static uint32_t lapic_window(uint32_t base, uint32_t *mean) {
    uint32_t intervals[CALIBRATION_TICKS];
    wait_ticks(1);  /* start on a tick edge */
    uint32_t previous = mmio_read32(base + APIC_TIMER_CURRENT);
    uint64_t sum = 0;
    for (int i = 0; i < CALIBRATION_TICKS; i++) {
        wait_ticks(1);
        uint32_t now = mmio_read32(base + APIC_TIMER_CURRENT);
        intervals[i] = previous - now;
        sum += intervals[i];
        previous = now;
    }
    *mean = (uint32_t) (sum / CALIBRATION_TICKS);
    /* Insertion sort: eleven values. */
    for (int i = 1; i < CALIBRATION_TICKS; i++) {
        uint32_t value = intervals[i];
        int j = i - 1;
        for (; j >= 0 && intervals[j] > value; j--) {
            intervals[j + 1] = intervals[j];
        }
        intervals[j + 1] = value;
    }
    return intervals[CALIBRATION_TICKS / 2];
}

/*
 * APIC timer counts per PIT tick. A vCPU the host deschedules for a while skews a window two ways: the ticks
 * it missed may arrive back to back afterwards (KVM reinjects them), which makes most intervals short, or
 * one interval absorbs the whole stall. Either way the median and the mean of the window disagree; a window
 * where they agree within an eighth is taken, else the last one.
 */
static uint32_t lapic_calibrate(uint32_t base) {
    mmio_write32(base + APIC_TIMER_DIVIDE, APIC_DIVIDE_BY_16);
    mmio_write32(base + APIC_LVT_TIMER, APIC_LVT_MASKED | VECTOR_LAPIC_TIMER);
    mmio_write32(base + APIC_TIMER_INITIAL, 0xffffffffu);
    uint32_t median = 0;
    for (int attempt = 0; attempt < CALIBRATION_WINDOWS; attempt++) {
        uint32_t mean;
        median = lapic_window(base, &mean);
        uint32_t gap = median > mean ? median - mean : mean - median;
        if (gap <= median / 8) {
            break;
        }
    }
    return median;
}

enum timer_source timer_start(enum timer_source wanted, bool heartbeat) {
    heartbeat_on = heartbeat;
    pic_init((uint8_t) ~1u, 0xff);  /* only IRQ0, the PIT */
    lapic_base = lapic_find();
    if (lapic_base) {
        lapic_virtual_wire(lapic_base);
    }
    pit_program(PIT_CH0_RATE_GENERATOR, PIT_DIVISOR);
    interrupts_on();
    if (wanted == TIMER_PIT) {
        return TIMER_PIT;
    }
    if (!lapic_base) {
        put_string(TO_BOTH, "ferry-workload: no usable local APIC, timer=pit instead\n");
        return TIMER_PIT;
    }
    uint32_t per_ms = lapic_calibrate(lapic_base);
    if (per_ms == 0) {
        put_string(TO_BOTH, "ferry-workload: the local APIC timer does not count, timer=pit instead\n");
        return TIMER_PIT;
    }
    __asm__ volatile("cli" : : : "memory");
    mmio_write32(lapic_base + APIC_LVT_TIMER, APIC_LVT_PERIODIC | VECTOR_LAPIC_TIMER);
    mmio_write32(lapic_base + APIC_TIMER_INITIAL, per_ms);
    outb(PIC1_DATA, 0xff);
    /* Mode 0 fires once and stops, so the masked PIT no longer costs the host a timer. */
    pit_program(PIT_CH0_ONE_SHOT, 0xffff);
    lapic_ticks = true;
    interrupts_on();
    put_string(TO_DEBUGCON, "ferry-workload: lapic timer ");
    put_decimal(TO_DEBUGCON, per_ms);
    put_string(TO_DEBUGCON, " counts/ms at divide 16\n");
    return TIMER_LAPIC;
}
