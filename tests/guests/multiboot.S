/*
 * Multiboot (version 1) guest: entered in 32-bit protected mode with
 * %eax = 0x2badb002 and %ebx pointing at the multiboot information.
 * Prints what it was given (memory sizes, command line, modules, boot
 * loader name, memory map) and exits through isa-debug-exit.
 *
 * Built as a flat binary whose header gives the load addresses (the
 * "a.out kludge") and, with MULTIBOOT_ELF defined, as an ELF file whose
 * program headers give them.
 */
#include "lib32.S"

#define MULTIBOOT_HEADER_MAGIC 0x1badb002
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002
#define MULTIBOOT_PAGE_ALIGN (1 << 0)
#define MULTIBOOT_MEMORY_INFO (1 << 1)
#define MULTIBOOT_AOUT_KLUDGE (1 << 16)

#ifdef MULTIBOOT_ELF
#define HEADER_FLAGS (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO)
#else
#define HEADER_FLAGS (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_AOUT_KLUDGE)
#endif

    .section .multiboot, "ax"
    .balign 4
multiboot_header:
    .long MULTIBOOT_HEADER_MAGIC
    .long HEADER_FLAGS
    .long -(MULTIBOOT_HEADER_MAGIC + HEADER_FLAGS)
    .long multiboot_header  /* header_addr */
    .long multiboot_header  /* load_addr: the file starts with this header */
    .long _edata            /* load_end_addr */
    .long _end              /* bss_end_addr */
    .long _start            /* entry_addr */

    .code32
    .text
    .globl _start
_start:
    mov $stack_top, %esp
    mov %ebx, %ebp
    mov %eax, %edi

    mov $str_hello, %esi
    call puts
    mov $str_magic, %esi
    mov %edi, %eax
    call print_field
    cmp $MULTIBOOT_BOOTLOADER_MAGIC, %eax
    jne fail
    mov $str_info, %esi
    mov %ebp, %eax
    call print_field
    mov $str_flags, %esi
    mov 0(%ebp), %eax
    call print_field
    mov $str_mem_lower, %esi
    mov 4(%ebp), %eax
    call print_field
    mov $str_mem_upper, %esi
    mov 8(%ebp), %eax
    call print_field
    mov $str_boot_device, %esi
    mov 12(%ebp), %eax
    call print_field

    mov $str_cmdline, %esi
    call puts
    mov 16(%ebp), %esi
    call puts
    call newline

    mov $str_loader, %esi
    call puts
    mov 64(%ebp), %esi
    call puts
    call newline

    /* Modules: { u32 start; u32 end; u32 string; u32 reserved; } */
    mov $str_mods_count, %esi
    mov 20(%ebp), %eax
    call print_field
    mov %eax, %ecx
    mov 24(%ebp), %edi
1:  test %ecx, %ecx
    jz 2f
    mov $str_module, %esi
    call puts
    mov 0(%edi), %eax
    call puthex32
    mov $'-', %al
    call putc
    mov 4(%edi), %eax
    call puthex32
    mov $str_starts, %esi
    call puts
    mov 0(%edi), %esi
    mov (%esi), %eax
    call puthex32
    mov $str_module_cmdline, %esi
    call puts
    mov 8(%edi), %esi
    call puts
    call newline
    add $16, %edi
    dec %ecx
    jmp 1b
2:
    /* Memory map: { u32 size; u64 base; u64 length; u32 type; }, each
       entry followed by the next at +size+4. */
    mov $str_mmap_length, %esi
    mov 44(%ebp), %eax
    call print_field
    mov $str_mmap_addr, %esi
    mov 48(%ebp), %eax
    call print_field
    mov 48(%ebp), %ebx
    mov %ebx, %ecx
    add 44(%ebp), %ecx
3:  cmp %ecx, %ebx
    jae 4f
    lea 4(%ebx), %edi
    call print_e820
    add (%ebx), %ebx
    add $4, %ebx
    jmp 3b
4:
    jmp succeed

fail:
    mov $str_fail, %esi
    jmp fail_with

    .section .rodata
str_hello:          .asciz "Hello from a multiboot guest!\n"
str_magic:          .asciz "magic: "
str_info:           .asciz "multiboot info: "
str_flags:          .asciz "flags: "
str_mem_lower:      .asciz "mem_lower: "
str_mem_upper:      .asciz "mem_upper: "
str_boot_device:    .asciz "boot_device: "
str_cmdline:        .asciz "cmdline: "
str_loader:         .asciz "boot loader: "
str_mods_count:     .asciz "mods_count: "
str_module:         .asciz "module "
str_starts:         .asciz " starts "
str_module_cmdline: .asciz " cmdline "
str_mmap_length:    .asciz "mmap_length: "
str_mmap_addr:      .asciz "mmap_addr: "
str_fail:           .asciz "bad multiboot magic\n"

    .data
    .long 0

    .bss
    .balign 16
    .skip 4096
stack_top:
