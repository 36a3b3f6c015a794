/*
 * RTC guest (PVH entry): sets the CMOS clock to 2030-01-02 03:04:05 as an
 * operating system does (SET bit in register B, the time and date in BCD,
 * SET cleared), then at once moves it a minute on by writing the minutes
 * register of the running clock; reads the year back, says so and halts.
 */
#include "lib32.S"
#include "pvhnote.S"

#define RTC_INDEX 0x70
#define RTC_DATA 0x71
#define RTC_REG_B 0x0b
#define REG_B_SET 0x80
#define REG_B_24H 0x02

/* Write \value to CMOS register \index. */
.macro cmos_write index, value
    mov $\index, %al
    outb %al, $RTC_INDEX
    mov $\value, %al
    outb %al, $RTC_DATA
.endm

    .code32
    .text
    .globl _start
_start:
    cli
    mov $stack_top, %esp

    cmos_write RTC_REG_B, (REG_B_SET | REG_B_24H)
    cmos_write 0x00, 0x05       /* seconds */
    cmos_write 0x02, 0x04       /* minutes */
    cmos_write 0x04, 0x03       /* hours */
    cmos_write 0x06, 0x04       /* day of week: Wednesday */
    cmos_write 0x07, 0x02       /* day of month */
    cmos_write 0x08, 0x01       /* month */
    cmos_write 0x09, 0x30       /* year */
    cmos_write 0x32, 0x20       /* century */
    cmos_write RTC_REG_B, REG_B_24H
    /* The other registers still hold what was written: 03:05:05. */
    cmos_write 0x02, 0x05

    /* The clock runs from the new date: the year and century read back. */
    mov $str_set, %esi
    call puts
    mov $0x32, %al
    outb %al, $RTC_INDEX
    inb $RTC_DATA, %al
    movzbl %al, %eax
    shl $8, %eax
    mov %eax, %ebx
    mov $0x09, %al
    outb %al, $RTC_INDEX
    inb $RTC_DATA, %al
    movzbl %al, %eax
    or %ebx, %eax
    mov $4, %ecx
    call puthex
    call newline
1:  hlt
    jmp 1b

    .section .rodata
str_set: .asciz "rtc guest: set, year "

    .bss
    .balign 16
    .skip 4096
stack_top:
