/*
 * Serial output and exit for 32-bit test guests (also used from
 * compatibility mode under a 64-bit kernel).
 *
 * COM1 is polled: wait for the transmitter holding register to be empty
 * (line status bit 5), then write the byte. isa-debug-exit at 0xf4 makes
 * the VMM exit with status (value << 1) | 1.
 */

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4
/* Every guest ends with this value on success: exit status 33. */
#define EXIT_SUCCESS_VALUE 0x10
/* Exit status 63: the guest found something it cannot go on with. */
#define EXIT_FAILURE_VALUE 0x1f

    .code32
    .text

/* putc: print the byte in %al. */
putc:
    push %edx
    push %eax
    mov $(COM1 + 5), %dx
1:  inb %dx, %al
    test $0x20, %al
    jz 1b
    pop %eax
    mov $COM1, %dx
    outb %al, %dx
    pop %edx
    ret

/* puts: print the NUL-terminated string at %esi. */
puts:
    push %esi
    push %eax
1:  lodsb
    test %al, %al
    jz 2f
    call putc
    jmp 1b
2:  pop %eax
    pop %esi
    ret

/* puthex: print the low %ecx hex digits of %eax. */
puthex:
    push %eax
    push %ebx
    push %ecx
    mov %eax, %ebx
    shl $2, %ecx
1:  sub $4, %ecx
    mov %ebx, %eax
    shr %cl, %eax
    and $0xf, %eax
    movb hexdigits(%eax), %al
    call putc
    test %ecx, %ecx
    jnz 1b
    pop %ecx
    pop %ebx
    pop %eax
    ret

/* puthex32: print %eax as 8 hex digits. */
puthex32:
    push %ecx
    mov $8, %ecx
    call puthex
    pop %ecx
    ret

/* puthex64: print %edx:%eax as 16 hex digits. */
puthex64:
    push %eax
    mov %edx, %eax
    call puthex32
    pop %eax
    call puthex32
    ret

/* newline: print "\n". */
newline:
    push %eax
    mov $'\n', %al
    call putc
    pop %eax
    ret

/*
 * print_e820: print the entry at %edi laid out as
 * { u64 base; u64 length; u32 type } as
 * "e820: <first>-<last> <type>\n".
 */
print_e820:
    push %eax
    push %edx
    push %esi
    mov $str_e820, %esi
    call puts
    mov (%edi), %eax
    mov 4(%edi), %edx
    call puthex64
    mov $'-', %al
    call putc
    mov (%edi), %eax
    mov 4(%edi), %edx
    add 8(%edi), %eax
    adc 12(%edi), %edx
    sub $1, %eax
    sbb $0, %edx
    call puthex64
    mov $' ', %al
    call putc
    mov 16(%edi), %eax
    push %ecx
    mov $1, %ecx
    call puthex
    pop %ecx
    call newline
    pop %esi
    pop %edx
    pop %eax
    ret

/* print_field: print the string at %esi, %eax in hex, and a newline. */
print_field:
    call puts
    call puthex32
    jmp newline

/* succeed: say "bye" and leave with the success value. */
succeed:
    mov $str_bye, %esi
    call puts
    mov $EXIT_SUCCESS_VALUE, %eax
    jmp exit_with

/* fail_with: print the string at %esi and leave with the failure value. */
fail_with:
    call puts
    mov $EXIT_FAILURE_VALUE, %eax
    jmp exit_with

/* exit_with: leave through isa-debug-exit with the value in %eax. */
exit_with:
    mov $DEBUG_EXIT_PORT, %dx
    outl %eax, %dx
    /* Without isa-debug-exit, stop here. */
1:  cli
    hlt
    jmp 1b

    .section .rodata
hexdigits: .ascii "0123456789abcdef"
str_e820:  .asciz "e820: "
str_bye:   .asciz "bye\n"
    .text
