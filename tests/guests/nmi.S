/*
 * NMI guest (PVH entry): installs an NMI handler, says it is waiting and
 * halts with interrupts disabled; an NMI (QMP inject-nmi) wakes it, and
 * the handler exits through isa-debug-exit.
 */
#include "lib32.S"
#include "pvhnote.S"

#define CODE_SELECTOR 0x08
#define DATA_SELECTOR 0x10
#define NMI_VECTOR 2

    .code32
    .text
    .globl _start
_start:
    cli
    /* Registers at entry differ between boot paths; the stack (which a
       memory dump compares) must not. */
    xor %eax, %eax
    xor %ebx, %ebx
    xor %ecx, %ecx
    xor %edx, %edx
    xor %esi, %esi
    xor %edi, %edi
    xor %ebp, %ebp
    lgdt gdt_descriptor
    ljmp $CODE_SELECTOR, $1f
1:  mov $DATA_SELECTOR, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $stack_top, %esp

    /* A 32-bit interrupt gate for vector 2. */
    mov $nmi_handler, %eax
    mov $(idt + NMI_VECTOR * 8), %edi
    movw %ax, (%edi)
    movw $CODE_SELECTOR, 2(%edi)
    movw $0x8e00, 4(%edi)
    shr $16, %eax
    movw %ax, 6(%edi)
    lidt idt_descriptor

    mov $str_waiting, %esi
    call puts
2:  hlt
    jmp 2b

nmi_handler:
    mov $str_nmi, %esi
    call puts
    jmp succeed

    .section .rodata
    .balign 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    /* 0x08: flat 32-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: flat data */
gdt_end:
gdt_descriptor:
    .word gdt_end - gdt - 1
    .long gdt
idt_descriptor:
    .word 256 * 8 - 1
    .long idt
str_waiting: .asciz "nmi guest: waiting\n"
str_nmi:     .asciz "nmi guest: NMI\n"

    .bss
    .balign 16
idt:
    .skip 256 * 8
    .skip 4096
stack_top:
