/*
 * A 32-bit "kernel" that reports the machine state it was entered in, for
 * tests/e2e_kexec32.rs: wrapped by the test in a minimal bzImage header, loaded by
 * `kboot kexec -c --entry-32bit` and entered through the purgatory's 32-bit exit at
 * its first byte. It prints one line on COM1,
 *   KBOOT-PROBE32 eax=... ebx=... (general registers and EFLAGS as entered) cr0=...
 *   cr4=... efer=... cs=... ds=... es=... ss=... fs=... gs=... gdt10hi=... gdt10lo=...
 *   gdt18hi=... gdt18lo=... (the GDT's 0x10 and 0x18 descriptors)
 * then halts. Position independent, no data section: assembled by the test with
 * `as --32` and `objcopy -O binary`.
 */
	.code32
	.text
	.globl _start
_start:
	pushfl
	pushal
	cld
	/* pushal: edi esi ebp esp ebx edx ecx eax at 0..28(%esp); eflags at 32 */
	movl %esp, %ebp
	/* field NAME, SOURCE: prints " NAME=" then SOURCE as 8 hex digits. */
	.macro field name, source
	call puts_inline
	.asciz " \name="
	movl \source, %eax
	call hex32
	.endm
	call puts_inline
	.asciz "KBOOT-PROBE32"
	field eax, 28(%ebp)
	field ebx, 16(%ebp)
	field ecx, 24(%ebp)
	field edx, 20(%ebp)
	field esi, 4(%ebp)
	field edi, 0(%ebp)
	field ebp, 8(%ebp)
	field eflags, 32(%ebp)
	movl %cr0, %ebx
	field cr0, %ebx
	movl %cr4, %ebx
	field cr4, %ebx
	movl $0xc0000080, %ecx
	rdmsr
	movl %eax, %ebx
	field efer, %ebx
	xorl %ebx, %ebx
	movw %cs, %bx
	field cs, %ebx
	movw %ds, %bx
	field ds, %ebx
	movw %es, %bx
	field es, %ebx
	movw %ss, %bx
	field ss, %ebx
	movw %fs, %bx
	field fs, %ebx
	movw %gs, %bx
	field gs, %ebx
	subl $8, %esp
	sgdt (%esp)
	movl 2(%esp), %edi
	field gdt10hi, 0x14(%edi)
	field gdt10lo, 0x10(%edi)
	field gdt18hi, 0x1c(%edi)
	field gdt18lo, 0x18(%edi)
	movb $'\r, %al
	call putc
	movb $'\n, %al
	call putc
halt:
	cli
	hlt
	jmp halt

/* The byte in al to COM1 once it is ready. */
putc:
	pushl %edx
	pushl %eax
	movl $0x3fd, %edx
1:	inb %dx, %al
	testb $0x20, %al
	jz 1b
	popl %eax
	movl $0x3f8, %edx
	outb %al, %dx
	popl %edx
	ret

/* Prints the NUL-terminated string that follows the call, returns past it. */
puts_inline:
	popl %esi
4:	lodsb
	testb %al, %al
	jz 5f
	call putc
	jmp 4b
5:	pushl %esi
	ret

/* eax as 8 hex digits. */
hex32:
	pushl %ecx
	pushl %ebx
	movl %eax, %ebx
	movl $8, %ecx
2:	roll $4, %ebx
	movl %ebx, %eax
	andl $15, %eax
	cmpl $10, %eax
	jb 3f
	addl $('a' - '0' - 10), %eax
3:	addl $'0, %eax
	call putc
	decl %ecx
	jnz 2b
	popl %ebx
	popl %ecx
	ret
