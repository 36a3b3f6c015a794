/*
 * The smallest PVH guest: entered in 32-bit protected mode, it writes 0 to
 * isa-debug-exit at port 0xf4 at once, which ends the VMM with status 1.
 * Startup benchmarks time the VMM from exec to that exit.
 */
    .section .note.Xen, "a"
    .balign 4
    .long 4                 /* name size: "Xen\0" */
    .long 4                 /* descriptor size */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_entry

    .text
    .code32
    .globl pvh_entry
pvh_entry:
    xorl %eax, %eax
    outl %eax, $0xf4
1:  hlt
    jmp 1b
