/* aarch64 entry: set the stack, clear .bss, call main, power off. QEMU enters at EL1 (or
 * EL2 with virtualization=on) with the MMU off. */
    .section .text.start, "ax"
    .global _start
_start:
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
