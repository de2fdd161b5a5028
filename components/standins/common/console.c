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

static void put_char(char c)
{
    AUX_ENABLES |= 1u;
    while (!(AUX_MU_LSR & (1u << 5))) {
    }
    AUX_MU_IO = (uint32_t)(unsigned char)c;
}
#else
/* The PL011 of QEMU virt. */
#define UART_DR (*(volatile uint32_t *)(0x09000000ul + 0x00))
#define UART_FR (*(volatile uint32_t *)(0x09000000ul + 0x18))

static void put_char(char c)
{
    while (UART_FR & (1u << 5)) {
    }
    UART_DR = (uint32_t)(unsigned char)c;
}
#endif

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
