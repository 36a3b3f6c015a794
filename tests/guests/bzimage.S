/*
 * Guest in the Linux x86 boot protocol (bzImage layout, protocol 2.15).
 *
 * The file is a boot sector with the setup header, one setup sector of
 * real-mode code, then the protected-mode part loaded at 1 MiB:
 *  - a boot loader that runs the real-mode setup code (QEMU with SeaBIOS
 *    does) gets the memory map from the BIOS (int 0x15, e820), which
 *    it stores in boot_params, and enters the 32-bit entry at 1 MiB,
 *    which turns on long mode and jumps to the 64-bit entry;
 *  - a boot loader that fills boot_params itself enters the 64-bit entry
 *    at 1 MiB + 0x200 directly, with %rsi = boot_params.
 * The 64-bit code prints what boot_params holds (setup header fields,
 * command line, e820 table) from compatibility mode and exits through
 * isa-debug-exit.
 */
#include "lib32.S"

#define SETUP_SECTS 1
#define KERNEL_START 0x100000
#define SMAP 0x534d4150
#define SEL_CODE64 0x08
#define SEL_CODE32 0x10
#define SEL_DATA 0x18

/* boot_params offsets */
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define E820_MAX_ENTRIES 128

/* ---------------------------------------------------------------------
 * Boot sector and setup header (offsets from the start of the file).
 */
    .section .setup, "ax"
    .code16
    .globl setup_start
setup_start:
    .org 0x1f1
    .byte SETUP_SECTS       /* setup_sects */
    .word 0                 /* root_flags */
    .long 0                 /* syssize */
    .word 0                 /* ram_size */
    .word 0                 /* vid_mode */
    .word 0                 /* root_dev */
    .word 0xaa55            /* boot_flag */
    /* 0x200: real-mode entry */
    jmp setup_code
    .ascii "HdrS"           /* header */
    .word 0x020f            /* version */
    .long 0                 /* realmode_swtch */
    .word 0                 /* start_sys_seg */
    .word 0                 /* kernel_version */
    .byte 0                 /* type_of_loader */
    .byte 0x01              /* loadflags: LOADED_HIGH */
    .word 0                 /* setup_move_size */
    .long KERNEL_START      /* code32_start */
    .long 0                 /* ramdisk_image */
    .long 0                 /* ramdisk_size */
    .long 0                 /* bootsect_kludge */
    .word 0                 /* heap_end_ptr */
    .byte 0                 /* ext_loader_ver */
    .byte 0                 /* ext_loader_type */
    .long 0                 /* cmd_line_ptr */
    .long 0x7fffffff        /* initrd_addr_max */
    .long 0x200000          /* kernel_alignment */
    .byte 0                 /* relocatable_kernel */
    .byte 0                 /* min_alignment */
    .word 0x0001            /* xloadflags: XLF_KERNEL_64 */
    .long 2047              /* cmdline_size */
    .long 0                 /* hardware_subarch */
    .quad 0                 /* hardware_subarch_data */
    .long 0                 /* payload_offset */
    .long 0                 /* payload_length */
    .quad 0                 /* setup_data */
    .quad KERNEL_START      /* pref_address */
    .long 0x10000           /* init_size */
    .long 0                 /* handover_offset */
    .long 0                 /* kernel_info_offset */
setup_header_end:

/*
 * Real-mode setup code: %ds = %es = %ss = the segment this file was
 * loaded at. As Linux does, it builds boot_params apart from the loaded
 * setup code (which overlaps the e820 table's offsets): at ZERO_PAGE.
 */
#define ZERO_PAGE 0x1000
setup_code:
    cli
    cld
    mov $ZERO_PAGE, %di
    mov $4096, %cx
    xor %al, %al
    rep stosb
    mov $0x1f1, %si
    mov $(ZERO_PAGE + 0x1f1), %di
    mov $(setup_header_end - 0x1f1), %cx
    rep movsb
    /* The e820 table, one int 0x15 call per entry. */
    xor %ebx, %ebx
    mov $(ZERO_PAGE + BP_E820_TABLE), %di
    xor %bp, %bp
1:  mov $0xe820, %eax
    mov $20, %ecx
    mov $SMAP, %edx
    int $0x15
    jc 2f
    cmp $SMAP, %eax
    jne 2f
    inc %bp
    add $20, %di
    cmp $E820_MAX_ENTRIES, %bp
    je 2f
    test %ebx, %ebx
    jnz 1b
2:  mov %bp, %ax
    movb %al, ZERO_PAGE + BP_E820_ENTRIES

    /* %esi = linear address of boot_params. */
    xor %esi, %esi
    mov %ds, %si
    shl $4, %esi
    /* The GDT descriptor needs the linear address of the GDT. */
    mov %esi, %eax
    add $ZERO_PAGE, %esi
    add $setup_gdt, %eax
    mov %eax, setup_gdt_desc + 2
    lgdtl setup_gdt_desc
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $SEL_CODE32, $KERNEL_START

    .balign 8
setup_gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 64-bit code */
    .quad 0x00cf9a000000ffff    /* 32-bit code */
    .quad 0x00cf92000000ffff    /* data */
setup_gdt_end:
setup_gdt_desc:
    .word setup_gdt_end - setup_gdt - 1
    .long 0
    .org (SETUP_SECTS + 1) * 512

/* ---------------------------------------------------------------------
 * Protected-mode part, loaded at 1 MiB.
 */
    .section .head.text, "ax"
    .code32
    .globl startup_32
startup_32:
    /* %esi = boot_params; paging off. Identity-map the first 4 GiB with
       2 MiB pages and enter long mode. */
    mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    cld
    mov $pml4, %edi             /* clear PML4 and PDPT */
    xor %eax, %eax
    mov $(2 * 1024), %ecx
    rep stosl
    mov $pd, %edi
    mov $0x83, %eax             /* present, writable, 2 MiB page */
    mov $2048, %ecx
1:  mov %eax, (%edi)
    movl $0, 4(%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 1b
    movl $(pd + 3), pdpt
    movl $(pd + 0x1003), pdpt + 8
    movl $(pd + 0x2003), pdpt + 16
    movl $(pd + 0x3003), pdpt + 24
    movl $(pdpt + 3), pml4
    mov %cr4, %eax
    or $0x20, %eax              /* PAE */
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx       /* EFER */
    rdmsr
    or $0x100, %eax             /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000000, %eax        /* PG */
    mov %eax, %cr0
    ljmp $SEL_CODE64, $startup_64

    .org 0x200
    .code64
    .globl startup_64
startup_64:
    /* %rsi = boot_params. Use our own GDT and drop to compatibility
       mode, where the 32-bit printing code runs. */
    lgdt gdt_desc(%rip)
    lea stack_top(%rip), %rsp
    mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    pushq $SEL_CODE32
    lea report(%rip), %rax
    pushq %rax
    lretq

    .text
    .code32
report:
    mov %esi, %ebp
    mov $str_hello, %esi
    call puts
    mov $str_boot_params, %esi
    mov %ebp, %eax
    call print_field
    mov $str_type_of_loader, %esi
    movzbl 0x210(%ebp), %eax
    call print_field
    mov $str_loadflags, %esi
    movzbl 0x211(%ebp), %eax
    call print_field
    mov $str_code32_start, %esi
    mov 0x214(%ebp), %eax
    call print_field
    mov $str_heap_end_ptr, %esi
    movzwl 0x224(%ebp), %eax
    call print_field
    mov $str_ramdisk_image, %esi
    mov 0x218(%ebp), %eax
    call print_field
    mov $str_ramdisk_size, %esi
    mov 0x21c(%ebp), %eax
    call print_field
    test %eax, %eax
    jz 1f
    mov $str_ramdisk_starts, %esi
    mov 0x218(%ebp), %eax
    mov (%eax), %eax
    call print_field
1:  mov $str_setup_data, %esi
    mov 0x250(%ebp), %eax
    call print_field
    mov $str_cmd_line_ptr, %esi
    mov 0x228(%ebp), %eax
    call print_field
    test %eax, %eax
    jz 2f
    mov $str_cmdline, %esi
    call puts
    mov %eax, %esi
    call puts
    call newline
2:
    mov $str_e820_entries, %esi
    movzbl BP_E820_ENTRIES(%ebp), %eax
    call print_field
    mov %eax, %ecx
    lea BP_E820_TABLE(%ebp), %edi
3:  test %ecx, %ecx
    jz 4f
    call print_e820
    add $20, %edi
    dec %ecx
    jmp 3b
4:
    jmp succeed

    .section .rodata
    .balign 8
gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 64-bit code */
    .quad 0x00cf9a000000ffff    /* 32-bit code */
    .quad 0x00cf92000000ffff    /* data */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .quad gdt
str_hello:           .asciz "Hello from a bzImage guest!\n"
str_boot_params:     .asciz "boot_params: "
str_type_of_loader:  .asciz "type_of_loader: "
str_loadflags:       .asciz "loadflags: "
str_code32_start:    .asciz "code32_start: "
str_heap_end_ptr:    .asciz "heap_end_ptr: "
str_ramdisk_image:   .asciz "ramdisk_image: "
str_ramdisk_size:    .asciz "ramdisk_size: "
str_ramdisk_starts:  .asciz "ramdisk starts: "
str_setup_data:      .asciz "setup_data: "
str_cmd_line_ptr:    .asciz "cmd_line_ptr: "
str_cmdline:         .asciz "cmdline: "
str_e820_entries:    .asciz "e820 entries: "

    .bss
    .balign 4096
pml4: .skip 4096
pdpt: .skip 4096
pd:   .skip 4 * 4096
    .skip 4096
stack_top:
