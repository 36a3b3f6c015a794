/*
 * fw_cfg guest (PVH): reads the fw_cfg interface at ports 0x510/0x511 as
 * firmware does and prints the signature, the interface ID, the numbered
 * items of the machine configuration, and QEMU's own e820 table from the
 * file `etc/e820`, then exits through isa-debug-exit.
 */
#include "lib32.S"
#include "pvhnote.S"

#define FW_CFG_CTL 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_FILE_DIR 0x19
#define DIR_ENTRY_SIZE 64

    .code32
    .text
    .globl _start
_start:
    mov $stack_top, %esp

    mov $str_hello, %esi
    call puts

    /* The signature: four characters. */
    xor %eax, %eax
    mov $4, %ecx
    call read_item
    mov $str_signature, %esi
    call puts
    mov $buffer, %esi
    movb $0, 4(%esi)
    call puts
    call newline

    /* Numbered items: key, width in bytes, label. */
    mov $items, %ebx
1:  movzwl (%ebx), %eax
    test %eax, %eax
    jz 2f
    movzwl 2(%ebx), %ecx
    call read_item
    mov 4(%ebx), %esi
    mov buffer, %eax
    call print_field
    add $8, %ebx
    jmp 1b

    /* The file directory: a big-endian count, then 64-byte entries. */
2:  mov $FW_CFG_FILE_DIR, %eax
    call select
    mov $4, %ecx
    call read_bytes
    mov buffer, %eax
    bswap %eax
    mov %eax, %ebx
3:  test %ebx, %ebx
    jz fail
    mov $DIR_ENTRY_SIZE, %ecx
    call read_bytes
    mov $buffer + 8, %esi
    mov $name_e820, %edi
    mov $name_e820_len, %ecx
    repe cmpsb
    je 4f
    dec %ebx
    jmp 3b

    /* etc/e820: 20-byte entries, as many as its size holds. */
4:  mov buffer, %eax
    bswap %eax
    xor %edx, %edx
    mov $20, %ecx
    div %ecx
    mov %eax, %ebx
    movzwl buffer + 4, %eax
    xchg %al, %ah
    call select
5:  test %ebx, %ebx
    jz 6f
    mov $20, %ecx
    call read_bytes
    mov $buffer, %edi
    call print_e820
    dec %ebx
    jmp 5b
6:  jmp succeed

fail:
    mov $str_fail, %esi
    jmp fail_with

/* select: make key %ax the current item. */
select:
    push %edx
    mov $FW_CFG_CTL, %dx
    outw %ax, %dx
    pop %edx
    ret

/* read_bytes: read %ecx bytes of the current item into `buffer`. */
read_bytes:
    push %edx
    push %edi
    mov $FW_CFG_DATA, %dx
    mov $buffer, %edi
    cld
    rep insb
    pop %edi
    pop %edx
    ret

/* read_item: select key %eax and read its first %ecx bytes into `buffer`. */
read_item:
    movl $0, buffer
    movl $0, buffer + 4
    call select
    jmp read_bytes

    .section .rodata
str_hello:      .asciz "Hello from the fw_cfg guest!\n"
str_signature:  .asciz "signature: "
str_fail:       .asciz "no etc/e820 file\n"
str_id:         .asciz "id: "
str_uuid:       .asciz "uuid (first bytes): "
str_ram_size:   .asciz "ram size (low 32 bits): "
str_nographic:  .asciz "nographic: "
str_nb_cpus:    .asciz "cpus: "
str_boot_menu:  .asciz "boot menu: "
str_max_cpus:   .asciz "max cpus: "
name_e820:      .asciz "etc/e820"
    .set name_e820_len, . - name_e820
    .balign 4
items:
    .short 0x01, 4
    .long str_id
    .short 0x02, 4
    .long str_uuid
    .short 0x03, 4
    .long str_ram_size
    .short 0x04, 2
    .long str_nographic
    .short 0x05, 2
    .long str_nb_cpus
    .short 0x0e, 2
    .long str_boot_menu
    .short 0x0f, 2
    .long str_max_cpus
    .short 0, 0
    .long 0

    .bss
    .balign 16
buffer:
    .skip DIR_ENTRY_SIZE
    .skip 4096
stack_top:
