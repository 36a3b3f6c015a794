/*
 * PCI scan guest (PVH): walks bus 0 through configuration mechanism #1
 * (ports 0xcf8/0xcfc) as firmware does, printing each function's vendor
 * and device ids and its revision and class dword, then exits through
 * isa-debug-exit.
 */
#include "lib32.S"
#include "pvhnote.S"

#define PCI_ADDRESS 0xcf8
#define PCI_DATA 0xcfc

    .code32
    .text
    .globl _start
_start:
    mov $stack_top, %esp
    mov $str_hello, %esi
    call puts

    xor %ebx, %ebx              /* device << 3 | function */
1:  cmp $256, %ebx
    jae 5f
    xor %eax, %eax
    call config_read
    cmp $0xffffffff, %eax
    je 3f
    call print_function
    /* Function 0 without the multifunction bit: skip functions 1-7. */
    test $7, %ebx
    jnz 4f
    mov $0xc, %eax
    call config_read
    test $0x800000, %eax
    jnz 4f
    add $8, %ebx
    jmp 1b
3:  /* An absent function 0 means an absent device. */
    test $7, %ebx
    jnz 4f
    add $8, %ebx
    jmp 1b
4:  inc %ebx
    jmp 1b
5:  jmp succeed

/* config_read: %eax = dword at register %eax of bus 0, devfn %ebx. */
config_read:
    push %edx
    shl $8, %ebx
    or %ebx, %eax
    shr $8, %ebx
    or $0x80000000, %eax
    mov $PCI_ADDRESS, %dx
    outl %eax, %dx
    mov $PCI_DATA, %dx
    inl %dx, %eax
    pop %edx
    ret

/* print_function: "pci: 00:DD.F VVVVDDDD CCCCCCRR" for devfn %ebx. */
print_function:
    push %eax
    push %ecx
    mov $str_pci, %esi
    call puts
    mov %ebx, %eax
    shr $3, %eax
    mov $2, %ecx
    call puthex
    mov $'.', %al
    call putc
    mov %ebx, %eax
    and $7, %eax
    mov $1, %ecx
    call puthex
    mov $' ', %al
    call putc
    xor %eax, %eax
    call config_read
    call puthex32
    mov $' ', %al
    call putc
    mov $8, %eax
    call config_read
    call puthex32
    call newline
    pop %ecx
    pop %eax
    ret

    .section .rodata
str_hello:  .asciz "Hello from the PCI scan guest!\n"
str_pci:    .asciz "pci: 00:"

    .bss
    .balign 16
    .skip 4096
stack_top:
