/* Entry of every Hive protection domain, in place of libmicrokit's crt0 (which only
 * branches to main). The police restarts a faulted skill by setting its PC here; seL4 does
 * not reset the stack pointer or memory on a restart, so this code puts the stack pointer
 * back at the top of the stack Microkit maps (one guard page below the IPC buffer), lets
 * the runtime clear its state (hive_pd_reset), and only then enters libmicrokit's main. */
    .section ".text.start", "ax"
    .global _start
    .type _start, %function
_start:
    adrp x0, __sel4_ipc_buffer
    ldr x0, [x0, :lo12:__sel4_ipc_buffer]
    sub sp, x0, #0x1000
    bl hive_pd_reset
    b main
