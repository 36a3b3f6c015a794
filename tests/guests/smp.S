/*
 * SMP guest (PVH entry): the bootstrap processor starts the second CPU
 * with INIT, SIPI, SIPI through its local APIC. The second CPU begins in
 * real mode at the trampoline copied to TRAMPOLINE, switches to protected
 * mode, prints and raises a flag; the bootstrap processor waits for the
 * flag, prints and exits through isa-debug-exit. Each CPU prints its
 * local APIC id.
 */
#include "lib32.S"
#include "pvhnote.S"

#define LAPIC_BASE 0xfee00000
#define LAPIC_ID (LAPIC_BASE + 0x20)
#define LAPIC_SVR (LAPIC_BASE + 0xf0)
#define LAPIC_ICR_LOW (LAPIC_BASE + 0x300)
#define LAPIC_ICR_HIGH (LAPIC_BASE + 0x310)
#define ICR_INIT_ASSERT 0x00004500
#define ICR_STARTUP 0x00004600
#define TRAMPOLINE 0x8000
#define SEL_CODE32 0x08
#define SEL_DATA 0x10
/* How long the bootstrap processor waits for the second one. */
#define WAIT_ITERATIONS 2000000

    .code32
    .text
    .globl _start
_start:
    mov $bsp_stack_top, %esp
    mov $str_cpu0, %esi
    call puts
    call print_apic_id

    /* Copy the trampoline below 1 MiB, where a SIPI can start it. */
    mov $ap_trampoline, %esi
    mov $TRAMPOLINE, %edi
    mov $(ap_trampoline_end - ap_trampoline), %ecx
    cld
    rep movsb

    movl $0x1ff, LAPIC_SVR          /* software-enable the local APIC */
    movl $0x01000000, LAPIC_ICR_HIGH
    movl $ICR_INIT_ASSERT, LAPIC_ICR_LOW
    movl $0x01000000, LAPIC_ICR_HIGH
    movl $(ICR_STARTUP | (TRAMPOLINE >> 12)), LAPIC_ICR_LOW
    movl $0x01000000, LAPIC_ICR_HIGH
    movl $(ICR_STARTUP | (TRAMPOLINE >> 12)), LAPIC_ICR_LOW

    mov $WAIT_ITERATIONS, %ecx
1:  cmpl $0, ap_started
    jne 2f
    pause
    loop 1b
    mov $str_no_ap, %esi
    call puts
    mov $EXIT_FAILURE_VALUE, %eax
    jmp exit_with
2:  mov $str_cpu0_saw, %esi
    call puts
    mov $EXIT_SUCCESS_VALUE, %eax
    jmp exit_with

/* print_apic_id: print " apic id <id>\n" for the running CPU. */
print_apic_id:
    mov $str_apic_id, %esi
    call puts
    mov LAPIC_ID, %eax
    shr $24, %eax
    push %ecx
    mov $2, %ecx
    call puthex
    pop %ecx
    jmp newline

ap_main:
    mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov $ap_stack_top, %esp
    mov $str_cpu1, %esi
    call puts
    call print_apic_id
    movl $1, ap_started
1:  cli
    hlt
    jmp 1b

/* Real-mode code run by the second CPU at TRAMPOLINE (%cs = 0x800). */
    .code16
ap_trampoline:
    cli
    xor %ax, %ax
    mov %ax, %ds
    lgdtl TRAMPOLINE + (ap_gdt_desc - ap_trampoline)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $SEL_CODE32, $ap_main
    .balign 8
ap_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    /* 32-bit code */
    .quad 0x00cf92000000ffff    /* data */
ap_gdt_desc:
    .word ap_gdt_desc - ap_gdt - 1
    .long TRAMPOLINE + (ap_gdt - ap_trampoline)
ap_trampoline_end:
    .code32

    .section .rodata
str_cpu0:     .asciz "cpu0: hello,"
str_cpu1:     .asciz "cpu1: hello,"
str_apic_id:  .asciz " apic id "
str_cpu0_saw: .asciz "cpu0: cpu1 is up\n"
str_no_ap:    .asciz "cpu0: cpu1 did not start\n"

    .data
ap_started: .long 0

    .bss
    .balign 16
    .skip 4096
bsp_stack_top:
    .skip 4096
ap_stack_top:
