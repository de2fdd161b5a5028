/* The receive side of the console UART, which the police maps at `console_regs`. The
 * kernel keeps printing through the same device (transmit only). */
#ifndef HIVE_POLICE_UART_H
#define HIVE_POLICE_UART_H

#include <stdint.h>

uintptr_t console_regs;

#define REG(offset) (*(volatile uint32_t *)(console_regs + (offset)))

#if defined(HIVE_CONSOLE_PL011)
/* Arm PL011 (QEMU virt). */
#define UARTDR 0x000
#define UARTFR 0x018
#define UARTIMSC 0x038
#define FR_RXFE (1u << 4)
#define IM_RX (1u << 4)
#define IM_RT (1u << 6)

static inline void uart_enable_receive(void)
{
    REG(UARTIMSC) |= IM_RX | IM_RT;
}

/* Reading the data register clears the receive interrupts once the FIFO is empty; writing
 * UARTICR here instead would race with a byte arriving just after the empty check, whose
 * interrupt it would clear unseen. */
static inline int uart_getc(void)
{
    if (REG(UARTFR) & FR_RXFE) {
        return -1;
    }
    return (int)(REG(UARTDR) & 0xff);
}
#elif defined(HIVE_CONSOLE_BCM2835_AUX)
/* The BCM2835 auxiliary mini-UART (Raspberry Pi 4's console); registers from 0x40 of
 * the AUX block, which the police maps from its page. */
#define AUX_MU_IO 0x40
#define AUX_MU_IER 0x44
#define AUX_MU_LSR 0x54
#define IER_RX (1u << 0)
#define LSR_DATA_READY (1u << 0)

static inline void uart_enable_receive(void)
{
    REG(AUX_MU_IER) |= IER_RX;
}

static inline int uart_getc(void)
{
    if (!(REG(AUX_MU_LSR) & LSR_DATA_READY)) {
        return -1;
    }
    return (int)(REG(AUX_MU_IO) & 0xff);
}
#else
#error "build with CONSOLE=pl011 or CONSOLE=bcm2835-aux"
#endif

#endif
