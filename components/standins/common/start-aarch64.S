/* aarch64 entry: park every core but the first (a Raspberry Pi starts all four here), set
 * the stack, clear .bss, call main, power off. QEMU enters at EL1 on virt (EL2 with
 * virtualization=on, and on raspi4b) with the MMU off. */
    .section .text.start, "ax"
    .global _start
_start:
    mrs x0, mpidr_el1
    and x0, x0, #0xff
    cbnz x0, 3f
    ldr x0, =__stack_top
    mov sp, x0
    ldr x0, =__bss_start
    ldr x1, =__bss_end
1:  cmp x0, x1
    b.hs 2f
    str xzr, [x0], #8
    b 1b
2:  bl main
    bl machine_off
3:  wfe
    b 3b

    .section .note.GNU-stack, "", %progbits
