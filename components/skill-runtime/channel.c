/* The Brain's channel (hive/channel.h) over a serial line of its own, polled: the 16550 at
 * COM2 on x86_64 (microvm: QEMU's `isa-serial` at 0x2f8), the second PL011 on arm64 virt
 * (0x09040000). QEMU passes bytes at the speed the guest takes them; no baud rate applies.
 * Built by the Unikraft runtime and by the stand-ins' skill base (which gives <uk/config.h>'s
 * two architecture names from the compiler's). */
#include <uk/config.h>

#include "hive/channel.h"

#if CONFIG_ARCH_X86_64
#define COM2 0x2f8
#define RBR 0 /* receive buffer / transmit holding */
#define IER 1
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define SCR 7 /* scratch: reads back what was written, where a 16550 is */
#define LSR_DATA 0x01
#define LSR_THRE 0x20

static inline void outb(unsigned short port, unsigned char value)
{
	__asm__ __volatile__("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline unsigned char inb(unsigned short port)
{
	unsigned char value;

	__asm__ __volatile__("inb %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

static int line_there(void)
{
	outb(COM2 + SCR, 0xa5);
	if (inb(COM2 + SCR) != 0xa5)
		return 0;
	outb(COM2 + SCR, 0x5a);
	return inb(COM2 + SCR) == 0x5a;
}

static void line_init(void)
{
	outb(COM2 + IER, 0x00);	 /* polled: no interrupts */
	outb(COM2 + LCR, 0x80);	 /* divisor latch */
	outb(COM2 + RBR, 0x01);	 /* 115200 (QEMU does not pace by it) */
	outb(COM2 + IER, 0x00);
	outb(COM2 + LCR, 0x03);	 /* 8N1 */
	outb(COM2 + FCR, 0xc7);	 /* FIFOs on and cleared */
	outb(COM2 + MCR, 0x03);	 /* DTR, RTS */
}

static void line_put(unsigned char byte)
{
	while (!(inb(COM2 + LSR) & LSR_THRE))
		;
	outb(COM2 + RBR, byte);
}

static int line_pending(void)
{
	return inb(COM2 + LSR) & LSR_DATA;
}

static unsigned char line_get(void)
{
	while (!line_pending())
		;
	return inb(COM2 + RBR);
}
#elif CONFIG_ARCH_ARM_64
#define PL011 0x09040000UL
#define DR 0x00
#define FR 0x18
#define LCR_H 0x2c
#define CR 0x30
#define IMSC 0x38
#define FR_RXFE (1 << 4)
#define FR_TXFF (1 << 5)

static inline volatile unsigned int *reg(unsigned long offset)
{
	return (volatile unsigned int *)(PL011 + offset);
}

/* virt always has it. */
static int line_there(void)
{
	return 1;
}

static void line_init(void)
{
	*reg(CR) = 0;
	*reg(IMSC) = 0;			/* polled: no interrupts */
	*reg(LCR_H) = 0x70;		/* 8 bits, FIFOs on */
	*reg(CR) = 0x301;		/* enabled, transmit, receive */
}

static void line_put(unsigned char byte)
{
	while (*reg(FR) & FR_TXFF)
		;
	*reg(DR) = byte;
}

static int line_pending(void)
{
	return !(*reg(FR) & FR_RXFE);
}

static unsigned char line_get(void)
{
	while (!line_pending())
		;
	return (unsigned char)*reg(DR);
}
#else
#error "the Brain's channel has a serial line on x86_64 and arm64 only"
#endif

static int ready;

static void line(void)
{
	if (!ready) {
		line_init();
		ready = 1;
	}
}

int hive_channel_send(unsigned char tag, const void *body, unsigned long length)
{
	const unsigned char *bytes = body;
	unsigned long size = length + 1;

	if (size > HIVE_FRAME_MAX)
		return -1;
	line();
	for (int shift = 0; shift < 32; shift += 8)
		line_put((unsigned char)(size >> shift));
	line_put(tag);
	for (unsigned long i = 0; i < length; i++)
		line_put(bytes[i]);
	return 0;
}

int hive_channel_present(void)
{
	return line_there();
}

int hive_channel_pending(void)
{
	line();
	return line_pending();
}

long hive_channel_recv(unsigned char *message)
{
	unsigned long size = 0;

	line();
	for (int shift = 0; shift < 32; shift += 8)
		size |= (unsigned long)line_get() << shift;
	if (size == 0 || size > HIVE_FRAME_MAX)
		return -1;
	for (unsigned long i = 0; i < size; i++)
		message[i] = line_get();
	return (long)size;
}
