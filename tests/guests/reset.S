/*
 * Reset guest (PVH entry): counts its boots in RAM outside its image
 * (a reset does not clear RAM), resets the machine on the first boot
 * and exits through isa-debug-exit on the second.
 *
 * It resets through the i8042 keyboard controller (command 0xfe: pulse
 * the reset line) or, with TRIPLE_FAULT defined, with a triple fault:
 * an exception with an empty IDT.
 */
#include "lib32.S"
#include "pvhnote.S"

#define BOOT_COUNTER 0x600000
#define BOOT_COUNTER_MAGIC 0x544f4f42   /* "BOOT" */

    .code32
    .text
    .globl _start
_start:
    mov $stack_top, %esp
    cmpl $BOOT_COUNTER_MAGIC, BOOT_COUNTER
    je 1f
    movl $BOOT_COUNTER_MAGIC, BOOT_COUNTER
    movl $0, BOOT_COUNTER + 4
1:  incl BOOT_COUNTER + 4
    mov $str_boot, %esi
    mov BOOT_COUNTER + 4, %eax
    call print_field
    cmp $1, %eax
    jne second_boot

#ifdef TRIPLE_FAULT
    mov $str_triple_fault, %esi
    call puts
    lidt empty_idt
    mov $0x1234, %ax
    mov %ax, %ds            /* #GP with no IDT: a triple fault */
#else
    mov $str_i8042, %esi
    call puts
    mov $0xfe, %al
    outb %al, $0x64
#endif
2:  cli
    hlt
    jmp 2b

second_boot:
    mov $str_second_boot, %esi
    call puts
    jmp succeed

    .section .rodata
    .balign 8
empty_idt:
    .word 0
    .long 0
str_boot:         .asciz "reset guest: boot "
str_i8042:        .asciz "resetting through the i8042\n"
str_triple_fault: .asciz "resetting with a triple fault\n"
str_second_boot:  .asciz "second boot, "

    .bss
    .balign 16
    .skip 4096
stack_top:
