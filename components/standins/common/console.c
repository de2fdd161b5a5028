/* Console and power-off for the stand-ins. See console.h. */
#include "console.h"

#include <stdint.h>

#if defined(__aarch64__)
#if defined(HIVE_BOARD_RPI4)
/* The mini-UART (AUX), the console seL4 uses on a Raspberry Pi 4; QEMU's second serial. */
#define AUX_BASE 0xfe215000ul
#define AUX_ENABLES (*(volatile uint32_t *)(AUX_BASE + 0x04))
#define AUX_MU_IO (*(volatile uint32_t *)(AUX_BASE + 0x40))
#define AUX_MU_LSR (*(volatile uint32_t *)(AUX_BASE + 0x54))

#define AUX_MU_CNTL (*(volatile uint32_t *)(AUX_BASE + 0x60))

static void put_char(char c)
{
    AUX_ENABLES |= 1u;
    AUX_MU_CNTL = 3u; /* receiver and transmitter on */
    while (!(AUX_MU_LSR & (1u << 5))) {
    }
    AUX_MU_IO = (uint32_t)(unsigned char)c;
}

int console_getc(void)
{
    AUX_ENABLES |= 1u;
    AUX_MU_CNTL = 3u;
    return (AUX_MU_LSR & 1u) ? (int)(AUX_MU_IO & 0xffu) : -1;
}
#else
/* The PL011 of QEMU virt. */
#define UART_DR (*(volatile uint32_t *)(0x09000000ul + 0x00))
#define UART_FR (*(volatile uint32_t *)(0x09000000ul + 0x18))
#define UART_CR (*(volatile uint32_t *)(0x09000000ul + 0x30))

static void put_char(char c)
{
    while (UART_FR & (1u << 5)) {
    }
    UART_DR = (uint32_t)(unsigned char)c;
}

int console_getc(void)
{
    UART_CR = 1u | (1u << 8) | (1u << 9); /* UART, transmit and receive enabled */
    return (UART_FR & (1u << 4)) ? -1 : (int)(UART_DR & 0xffu);
}
#endif

unsigned long long clock_us(void)
{
    uint64_t count, frequency;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(count));
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(frequency));
    return count / (frequency / 1000000u);
}

void machine_off(unsigned code)
{
    (void)code;
#if !defined(HIVE_BOARD_RPI4)
    /* PSCI SYSTEM_OFF through the hypervisor call QEMU answers on virt. A Raspberry Pi has
     * no PSCI firmware: it just stops. */
    register uint64_t x0 __asm__("x0") = 0x84000008ul;
    __asm__ volatile("hvc #0" : "+r"(x0)::"memory");
#endif
    for (;;) {
        __asm__ volatile("wfe");
    }
}
#elif defined(__x86_64__)
static inline void outb(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %1" ::"a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static void put_char(char c)
{
    while (!(inb(0x3f8 + 5) & 0x20)) {
    }
    outb(0x3f8, (uint8_t)c);
}

int console_getc(void)
{
    return (inb(0x3f8 + 5) & 1) ? inb(0x3f8) : -1;
}

/* The PIT's channel 0 as a free-running 1.193182 MHz counter (mode 2, reload 65536),
 * read by latching; no interrupts. */
unsigned long long clock_us(void)
{
    static int started;
    static uint16_t last;
    static uint64_t ticks;
    if (!started) {
        outb(0x43, 0x34);
        outb(0x40, 0);
        outb(0x40, 0);
        started = 1;
    }
    outb(0x43, 0x00);
    uint16_t now = inb(0x40);
    now |= (uint16_t)(inb(0x40) << 8);
    ticks += (uint16_t)(last - now);
    last = now;
    return ticks * 1000000u / 1193182u;
}

void machine_off(unsigned code)
{
    /* isa-debug-exit: QEMU exits with status (code << 1) | 1. */
    __asm__ volatile("outw %w0, %w1" ::"a"(code), "Nd"(0x501));
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}
#else
#error "stand-ins are built for aarch64 or x86_64"
#endif

void console_puts(const char *text)
{
    for (; *text; text++) {
        if (*text == '\n') {
            put_char('\r');
        }
        put_char(*text);
    }
}

void console_put_u64(unsigned long long value)
{
    char digits[21];
    int at = 20;
    digits[at] = '\0';
    do {
        digits[--at] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    console_puts(&digits[at]);
}

/* The compiler may emit calls to these even in freestanding code. */
void *memset(void *dest, int value, unsigned long count)
{
    unsigned char *bytes = dest;
    while (count--) {
        *bytes++ = (unsigned char)value;
    }
    return dest;
}

void *memcpy(void *dest, const void *src, unsigned long count)
{
    unsigned char *to = dest;
    const unsigned char *from = src;
    while (count--) {
        *to++ = *from++;
    }
    return dest;
}
