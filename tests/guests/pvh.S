/*
 * PVH guest: entered in 32-bit protected mode, paging off, %ebx pointing
 * at struct hvm_start_info. Prints what it was given (start_info, command
 * line, modules, memory map) and exits through isa-debug-exit.
 *
 * Built as ELF32 and, with the same code, as ELF64.
 */
#include "lib32.S"
#include "pvhnote.S"

#define HVM_START_MAGIC 0x336ec578

    .code32
    .text
    .globl _start
_start:
    mov $stack_top, %esp
    mov %ebx, %ebp

    mov $str_hello, %esi
    call puts

    mov $str_start_info, %esi
    mov %ebp, %eax
    call print_field
    mov $str_magic, %esi
    mov 0(%ebp), %eax
    call print_field
    cmp $HVM_START_MAGIC, %eax
    jne fail
    mov $str_version, %esi
    mov 4(%ebp), %eax
    call print_field
    mov $str_flags, %esi
    mov 8(%ebp), %eax
    call print_field
    mov $str_rsdp, %esi
    mov 32(%ebp), %eax
    call print_field

    /* Command line. */
    mov $str_cmdline_at, %esi
    mov 24(%ebp), %eax
    call print_field
    test %eax, %eax
    jz 1f
    mov $str_cmdline, %esi
    call puts
    mov %eax, %esi
    call puts
    call newline
1:
    /* Modules: { u64 paddr; u64 size; u64 cmdline_paddr; u64 reserved; } */
    mov $str_nr_modules, %esi
    mov 12(%ebp), %eax
    call print_field
    mov $str_modlist_at, %esi
    mov 16(%ebp), %eax
    call print_field
    mov 12(%ebp), %eax
    mov %eax, %ecx
    mov 16(%ebp), %edi
2:  test %ecx, %ecx
    jz 3f
    mov $str_module, %esi
    call puts
    mov (%edi), %eax
    call puthex32
    mov $str_size, %esi
    call puts
    mov 8(%edi), %eax
    call puthex32
    mov $str_first_bytes, %esi
    call puts
    mov (%edi), %esi
    mov (%esi), %eax
    call puthex32
    call newline
    add $32, %edi
    dec %ecx
    jmp 2b
3:
    /* Memory map: { u64 addr; u64 size; u32 type; u32 reserved; } */
    mov $str_memmap_at, %esi
    mov 40(%ebp), %eax
    call print_field
    mov $str_memmap_entries, %esi
    mov 48(%ebp), %eax
    call print_field
    mov %eax, %ecx
    mov 40(%ebp), %edi
4:  test %ecx, %ecx
    jz 5f
    call print_e820
    add $24, %edi
    dec %ecx
    jmp 4b
5:
    jmp succeed

fail:
    mov $str_fail, %esi
    jmp fail_with

    .section .rodata
str_hello:          .asciz "Hello from a PVH guest!\n"
str_start_info:     .asciz "start_info: "
str_magic:          .asciz "magic: "
str_version:        .asciz "version: "
str_flags:          .asciz "flags: "
str_rsdp:           .asciz "rsdp: "
str_cmdline_at:     .asciz "cmdline at: "
str_cmdline:        .asciz "cmdline: "
str_nr_modules:     .asciz "modules: "
str_module:         .asciz "module at "
str_size:           .asciz " size "
str_first_bytes:    .asciz " starts "
str_memmap_entries: .asciz "memmap entries: "
str_memmap_at:      .asciz "memmap at: "
str_modlist_at:     .asciz "modlist at: "
str_fail:           .asciz "bad start_info magic\n"

    .bss
    .balign 16
    .skip 4096
stack_top:
