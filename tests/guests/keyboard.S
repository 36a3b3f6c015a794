/*
 * Keyboard guest (PVH entry): reads what the PS/2 keyboard sends through
 * the i8042 by polling, in a fixed series of phases, and prints every byte
 * in hex on COM1.
 *
 * Each phase first sets the controller's command byte (translation to
 * set 1 on or off) and the keyboard's scancode set, so the guest does not
 * depend on what firmware left behind, then prints "ready <n>" and reads
 * until the Esc key's release: its last byte is 0x81 in set 1 and in
 * translated set 2, "f0 76" untranslated in set 2 and "f0 08" in set 3.
 * The bytes are kept in memory and printed when the phase ends, so that
 * reading keeps pace with the keyboard (whose queue holds 16 bytes).
 * After the last phase it exits.
 */
#include "lib32.S"
#include "pvhnote.S"

#define I8042_DATA 0x60
#define I8042_STATUS 0x64
#define I8042_COMMAND 0x64
#define STATUS_OUTPUT_FULL 0x01
#define STATUS_INPUT_FULL 0x02
#define CCMD_WRITE_MODE 0x60
#define KBD_CMD_SCANCODE 0xf0
#define KBD_CMD_ENABLE 0xf4
#define BREAK_PREFIX 0xf0

/* The command byte: system flag, interrupts off, both ports enabled. */
#define MODE_UNTRANSLATED 0x04
#define MODE_TRANSLATED 0x44

    .code32
    .text
    .globl _start
_start:
    cli
    mov $stack_top, %esp
    mov $str_hello, %esi
    call puts

    /* Whatever firmware left in the controller's output buffer. */
1:  inb $I8042_STATUS, %al
    test $STATUS_OUTPUT_FULL, %al
    jz 2f
    inb $I8042_DATA, %al
    jmp 1b

2:  mov $phases, %ebx
    xor %ebp, %ebp                  /* phase number */
next_phase:
    cmpb $0, (%ebx)
    je all_done
    mov $CCMD_WRITE_MODE, %al
    call controller_command
    movb (%ebx), %al
    call controller_data
    mov $KBD_CMD_SCANCODE, %al
    call keyboard_command
    movb 1(%ebx), %al
    call keyboard_command
    mov $KBD_CMD_ENABLE, %al
    call keyboard_command

    mov $str_ready, %esi
    call puts
    mov %ebp, %eax
    mov $1, %ecx
    call puthex
    call newline

    xor %edi, %edi                  /* the byte before this one */
    mov $buffer, %esi               /* where the next byte goes */
read_next:
    call read_byte
    cmp $buffer_end, %esi
    je overflow
    movb %al, (%esi)
    inc %esi
    cmpb 2(%ebx), %al
    jne 3f
    cmpb $0, 3(%ebx)
    je phase_done                   /* no break prefix needed */
    cmp $BREAK_PREFIX, %edi
    je phase_done
3:  mov %eax, %edi
    jmp read_next

phase_done:
    mov %esi, %edi                  /* print the buffer up to here */
    mov $buffer, %esi
    mov $2, %ecx
4:  movzbl (%esi), %eax
    call puthex
    mov $' ', %al
    call putc
    inc %esi
    cmp %edi, %esi
    jne 4b
    call newline
    add $4, %ebx
    inc %ebp
    jmp next_phase

all_done:
    jmp succeed                     /* prints "bye" */

overflow:
    mov $str_overflow, %esi
    jmp fail_with

/* read_byte: wait for the output buffer, return its byte in %eax and %edx. */
read_byte:
    inb $I8042_STATUS, %al
    test $STATUS_OUTPUT_FULL, %al
    jz read_byte
    xor %eax, %eax
    inb $I8042_DATA, %al
    mov %eax, %edx
    ret

wait_input_empty:
    push %eax
1:  inb $I8042_STATUS, %al
    test $STATUS_INPUT_FULL, %al
    jnz 1b
    pop %eax
    ret

/* controller_command: %al to the command port. */
controller_command:
    call wait_input_empty
    outb %al, $I8042_COMMAND
    ret

/* controller_data: %al to the data port. */
controller_data:
    call wait_input_empty
    outb %al, $I8042_DATA
    ret

/* keyboard_command: %al to the keyboard; its acknowledgement is read. */
keyboard_command:
    call controller_data
    call read_byte
    ret

    .section .rodata
/*
 * Phases: command byte, scancode set, last byte of Esc's release, whether
 * a break prefix comes before it. A zero command byte ends the list.
 */
phases:
    .byte MODE_TRANSLATED, 2, 0x81, 0
    .byte MODE_UNTRANSLATED, 2, 0x76, 1
    .byte MODE_UNTRANSLATED, 1, 0x81, 0
    .byte MODE_UNTRANSLATED, 3, 0x08, 1
    .byte MODE_TRANSLATED, 1, 0x81, 0
    .byte 0
str_hello: .asciz "keyboard guest\n"
str_ready: .asciz "ready "
str_overflow: .asciz "more bytes than the buffer holds\n"

    .bss
    .balign 16
    .skip 4096
stack_top:
buffer:
    .skip 16384
buffer_end:
