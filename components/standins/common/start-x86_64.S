/* x86_64 PVH entry: QEMU (microvm, or -kernel on q35/pc) jumps to the address in the
 * XEN_ELFNOTE_PHYS32_ENTRY note in 32-bit protected mode with paging off. Build identity
 * page tables for the first 1 GiB, enter long mode, clear .bss, call main, power off. */
    .section .note.pvh, "a"
    .align 4
    .long 4            /* name size: "Xen\0" */
    .long 4            /* descriptor size */
    .long 18           /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long _start32

    .section .text.start, "ax"
    .code32
    .global _start32
_start32:
    cli
    mov $__stack_top, %esp
    /* pd[i] = i * 2 MiB | present | writable | huge */
    mov $pd, %edi
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, (%edi,%ecx,8)
    movl $0, 4(%edi,%ecx,8)
    inc %ecx
    cmp $512, %ecx
    jne 1b
    mov $pdpt, %eax
    or $0x3, %eax
    mov %eax, pml4
    mov $pd, %eax
    or $0x3, %eax
    mov %eax, pdpt
    mov %cr4, %eax
    or $0x20, %eax              /* PAE */
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx       /* EFER.LME */
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax        /* PG | PE */
    mov %eax, %cr0
    lgdt gdt_pointer
    ljmp $0x08, $start64

    .code64
start64:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $__stack_top, %rsp
    mov $__bss_start, %rdi
    mov $__bss_end, %rcx
    sub %rdi, %rcx
    xor %eax, %eax
    rep stosb
    call main
    mov %eax, %edi
    call machine_off
2:  hlt
    jmp 2b

    .section .data
    .align 4096
pml4: .fill 512, 8, 0
pdpt: .fill 512, 8, 0
pd:   .fill 512, 8, 0
    .align 8
gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: data */
gdt_pointer:
    .word gdt_pointer - gdt - 1
    .long gdt

    .section .note.GNU-stack, "", %progbits
