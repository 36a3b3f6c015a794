/*
 * The Xen ELF note that makes an ELF file bootable by the PVH protocol:
 * XEN_ELFNOTE_PHYS32_ENTRY (18) gives the 32-bit entry point.
 */
    .section .note.Xen, "a", @note
    .balign 4
    .long 4             /* name size */
    .long 4             /* descriptor size */
    .long 18            /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long _start
    .text
