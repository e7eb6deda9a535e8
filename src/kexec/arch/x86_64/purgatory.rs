//! The purgatory: the code the running kernel's `relocate_kernel` jumps to once it has
//! copied the segments into place, in 64-bit mode on an identity map, with a GDT that
//! `machine_kexec` has already invalidated. It puts the CPU in the state the x86
//! 64-bit boot protocol asks for and jumps to the kernel:
//!
//! - its own GDT: null, null, 0x10 flat 64-bit code (`__BOOT_CS`), 0x18 flat data
//!   (`__BOOT_DS`), loaded with `lgdt`; CS reloaded with a far return; DS, ES, SS, FS,
//!   GS = 0x18;
//! - a stack (`rsp` from the parameter block: the top of the purgatory's segment);
//! - a check of every other segment's data: its XXH64 (seed 0) compared with the one
//!   kboot computed when it laid the image out. On a mismatch it says which region on
//!   the first serial port (0x3f8) and halts instead of jumping into corrupt memory;
//! - then one of two exits, as the parameter block's `exit` word says:
//!   - 64-bit: `rsi` = the zero page, every other general register zero, interrupts
//!     off, `jmp` to `rip` (the kernel's 64-bit entry, load address + 0x200);
//!   - 32-bit protected mode with paging off (multiboot, PVH, Linux's 32-bit entry):
//!     a second GDT whose 0x10 is flat 32-bit code and 0x18 flat data (the selectors
//!     Linux's 32-bit boot protocol names), a far return into 0x10 (compatibility
//!     mode), CR0.PG off (which leaves long mode: the code runs on the identity map
//!     at its physical address, below 4 GiB), EFER.LME off, CR4 = 0, DS, ES, SS, FS,
//!     GS = 0x18, CS reloaded, `eax`, `ebx`, `esi` from the block, `ecx`, `edx`,
//!     `edi`, `ebp` zero, interrupts off, and a jump to `eip`.
//!
//! Why XXH64 and not SHA-256 (kexec-tools' choice, and kboot's before): the check
//! guards against accidental corruption between `kexec_load` and the jump (a stray DMA,
//! a bug in the kernel that is shutting down), not against an attacker, who could
//! rewrite the purgatory and its expected values as easily as the kernel. XXH64 is a
//! 64-bit hash whose every input bit reaches every output bit (it passes SMHasher), so
//! a changed byte, a zeroed page or a shifted copy goes unnoticed with probability
//! 2^-64 per region; and it costs a few integer instructions per 8 bytes where SHA-256
//! costs about 60 per byte, which under emulation (TCG) was most of a second for a
//! 15 MB kernel and ramdisk, at load time and again before the jump.
//!
//! It is assembled into kboot itself (`global_asm!`) between `kboot_purgatory_start`
//! and `kboot_purgatory_end`, position independent (RIP-relative only), and copied
//! into its own segment at load time with the parameter block at offset 0 patched.
//! No SSE: `relocate_kernel` leaves CR4.OSFXSR clear, so only integer instructions.
//! `kboot_purgatory_xxh64` follows the SysV calling convention, so the unit tests call
//! it in place, inside kboot, against the reference vectors and the `xxhash-rust` crate.
#![allow(unsafe_code)]

use crate::bytes::put_le64;
use crate::kexec::image::{EntryMode, EntryRegs, FOUR_GIB};

/// Parameter block at the start of the blob (all little-endian u64). The entry: `rip`,
/// or `eip` for the 32-bit exit.
pub(crate) const PARAM_RIP: usize = 0x00;
/// `rsi`, or `esi` for the 32-bit exit.
pub(crate) const PARAM_RSI: usize = 0x08;
pub(crate) const PARAM_RSP: usize = 0x10;
/// How many `{u64 start, u64 len, u64 xxh64}` regions follow; 0 skips the check.
pub(crate) const PARAM_REGION_COUNT: usize = 0x18;
/// Which exit: [`EXIT_LONG64`] or [`EXIT_PROTECTED32`].
pub(crate) const PARAM_EXIT: usize = 0x20;
/// `eax` and `ebx` for the 32-bit exit (the low 32 bits of each word).
pub(crate) const PARAM_EAX: usize = 0x28;
pub(crate) const PARAM_EBX: usize = 0x30;
pub(crate) const PARAM_REGIONS: usize = 0x38;
pub(crate) const EXIT_LONG64: u64 = 0;
pub(crate) const EXIT_PROTECTED32: u64 = 1;
pub(crate) const MAX_REGIONS: usize = 16;
const REGION_BYTES: usize = 24;
#[cfg(test)]
const PARAMS_END: usize = PARAM_REGIONS + MAX_REGIONS * REGION_BYTES;

/// Bytes kept for the stack above the code in the purgatory segment (the segment is
/// the code rounded up to a page plus this). The check needs a few dozen.
pub(crate) const STACK_BYTES: u64 = 4096;

core::arch::global_asm!(
    ".pushsection .text.kboot_purgatory,\"ax\",@progbits",
    ".balign 16",
    ".globl kboot_purgatory_start",
    "kboot_purgatory_start:",
    // Parameter block, patched by `patched()`.
    ".Lkboot_rip: .quad 0",
    ".Lkboot_rsi: .quad 0",
    ".Lkboot_rsp: .quad 0",
    ".Lkboot_region_count: .quad 0",
    ".Lkboot_exit: .quad 0",
    ".Lkboot_eax: .quad 0",
    ".Lkboot_ebx: .quad 0",
    ".Lkboot_regions: .fill 384, 1, 0",
    ".Lkboot_gdt:",
    ".quad 0",                  // 0x00 null
    ".quad 0",                  // 0x08 unused
    ".quad 0x00af9a000000ffff", // 0x10 __BOOT_CS: 64-bit code, execute/read, 4 GiB
    ".quad 0x00cf92000000ffff", // 0x18 __BOOT_DS: data, read/write, 4 GiB
    ".Lkboot_gdt_end:",
    ".Lkboot_gdtr:",
    ".word .Lkboot_gdt_end - .Lkboot_gdt - 1",
    ".quad 0", // base: filled at run time, wherever the blob landed
    // The 32-bit exit's GDT: the same selectors, 0x10 now 32-bit code (Linux's 32-bit
    // boot protocol wants exactly __BOOT_CS = 0x10 and __BOOT_DS = 0x18).
    ".balign 16",
    ".globl kboot_purgatory_gdt32",
    "kboot_purgatory_gdt32:",
    ".quad 0",                  // 0x00 null
    ".quad 0",                  // 0x08 unused
    ".quad 0x00cf9a000000ffff", // 0x10: 32-bit code, execute/read, 4 GiB
    ".quad 0x00cf92000000ffff", // 0x18: data, read/write, 4 GiB
    ".Lkboot_gdt32_end:",
    ".Lkboot_gdtr32:",
    ".word .Lkboot_gdt32_end - kboot_purgatory_gdt32 - 1",
    ".quad 0", // base: filled at run time, as the 64-bit one
    ".balign 16",
    ".globl kboot_purgatory_entry",
    "kboot_purgatory_entry:",
    "cli",
    "cld",
    "leaq .Lkboot_gdt(%rip), %rax",
    "movq %rax, .Lkboot_gdtr+2(%rip)",
    "lgdt .Lkboot_gdtr(%rip)",
    "movl $0x18, %eax",
    "movl %eax, %ds",
    "movl %eax, %es",
    "movl %eax, %ss",
    "movl %eax, %fs",
    "movl %eax, %gs",
    "movq .Lkboot_rsp(%rip), %rsp",
    // Far return to reload CS with 0x10.
    "leaq .Lkboot_on_boot_cs(%rip), %rax",
    "pushq $0x10",
    "pushq %rax",
    "lretq",
    ".Lkboot_on_boot_cs:",
    // Check the regions: rbx = regions left, rbp = the current one (both survive the
    // call, which follows SysV).
    "movq .Lkboot_region_count(%rip), %rbx",
    "leaq .Lkboot_regions(%rip), %rbp",
    ".Lkboot_check_next:",
    "testq %rbx, %rbx",
    "jz .Lkboot_checked",
    "movq 0(%rbp), %rdi",
    "movq 8(%rbp), %rsi",
    "call kboot_purgatory_xxh64",
    "cmpq 16(%rbp), %rax",
    "jne .Lkboot_mismatch",
    "addq $24, %rbp",
    "decq %rbx",
    "jmp .Lkboot_check_next",
    ".Lkboot_checked:",
    "cmpq $0, .Lkboot_exit(%rip)",
    "jne .Lkboot_exit_32",
    "movq .Lkboot_rsi(%rip), %rsi",
    "xorl %eax, %eax",
    "xorl %ebx, %ebx",
    "xorl %ecx, %ecx",
    "xorl %edx, %edx",
    "xorl %edi, %edi",
    "xorl %ebp, %ebp",
    "xorl %r8d, %r8d",
    "xorl %r9d, %r9d",
    "xorl %r10d, %r10d",
    "xorl %r11d, %r11d",
    "xorl %r12d, %r12d",
    "xorl %r13d, %r13d",
    "xorl %r14d, %r14d",
    "xorl %r15d, %r15d",
    "jmp *.Lkboot_rip(%rip)",
    // The 32-bit exit (SDM vol. 3, 10.8.5.4 "Switching Out of IA-32e Mode Operation"):
    // the 32-bit GDT, a far return into its 32-bit code segment (compatibility mode),
    // paging off, EFER.LME off, and the state the protocol asked for. The 32-bit code
    // cannot address RIP-relative: it reaches the parameter block through ebp, the
    // blob's address, taken here (the blob runs at its physical address, below 4 GiB,
    // on the identity map, so turning paging off does not move it).
    ".Lkboot_exit_32:",
    "leaq kboot_purgatory_gdt32(%rip), %rax",
    "movq %rax, .Lkboot_gdtr32+2(%rip)",
    "lgdt .Lkboot_gdtr32(%rip)",
    "leaq kboot_purgatory_start(%rip), %rbp",
    "leaq .Lkboot_compat(%rip), %rax",
    "pushq $0x10",
    "pushq %rax",
    "lretq",
    ".code32",
    ".Lkboot_compat:",
    // CR0.PG off: this leaves long mode (EFER.LMA drops); a branch after it.
    "movl %cr0, %eax",
    "andl $0x7fffffff, %eax",
    "movl %eax, %cr0",
    "jmp .Lkboot_paging_off",
    ".Lkboot_paging_off:",
    "movl $0xc0000080, %ecx", // EFER
    "rdmsr",
    "andl $0xfffffeff, %eax", // LME (bit 8) off
    "wrmsr",
    "xorl %eax, %eax",
    "movl %eax, %cr4", // PAE and the rest off: PVH wants CR4 clear
    "movl $0x18, %eax",
    "movl %eax, %ds",
    "movl %eax, %es",
    "movl %eax, %ss",
    "movl %eax, %fs",
    "movl %eax, %gs",
    // Reload CS from the 32-bit GDT now that this is plain protected mode.
    "leal (.Lkboot_protected - kboot_purgatory_start)(%ebp), %eax",
    "pushl $0x10",
    "pushl %eax",
    "lretl",
    ".Lkboot_protected:",
    // The entry goes on the stack for the final `ret`: no register is left for it.
    "pushl (.Lkboot_rip - kboot_purgatory_start)(%ebp)",
    "movl (.Lkboot_eax - kboot_purgatory_start)(%ebp), %eax",
    "movl (.Lkboot_ebx - kboot_purgatory_start)(%ebp), %ebx",
    "movl (.Lkboot_rsi - kboot_purgatory_start)(%ebp), %esi",
    "xorl %ecx, %ecx",
    "xorl %edx, %edx",
    "xorl %edi, %edi",
    "xorl %ebp, %ebp",
    "retl",
    ".code64",
    // Corrupt image: say so on COM1 (bounded wait per byte, in case there is none),
    // with the region's start address in hex, and halt for good.
    ".Lkboot_mismatch:",
    "leaq .Lkboot_message(%rip), %rsi",
    "call .Lkboot_puts",
    "movq 0(%rbp), %r8",
    "movl $16, %r9d",
    ".Lkboot_hex_digit:",
    "rolq $4, %r8",
    "movl %r8d, %eax",
    "andl $15, %eax",
    "leaq .Lkboot_hex(%rip), %rsi",
    "movzbl (%rsi,%rax), %ebx",
    "call .Lkboot_putc",
    "decl %r9d",
    "jnz .Lkboot_hex_digit",
    "leaq .Lkboot_message_end(%rip), %rsi",
    "call .Lkboot_puts",
    ".Lkboot_halt:",
    "cli",
    "hlt",
    "jmp .Lkboot_halt",
    // Writes the NUL-terminated string at rsi to COM1.
    ".Lkboot_puts:",
    "movzbl (%rsi), %ebx",
    "testb %bl, %bl",
    "jz .Lkboot_puts_done",
    "call .Lkboot_putc",
    "incq %rsi",
    "jmp .Lkboot_puts",
    ".Lkboot_puts_done:",
    "ret",
    // Writes the byte in bl to COM1 once it is ready (or after about a million reads).
    ".Lkboot_putc:",
    "movl $0x3fd, %edx",
    "movl $0x100000, %ecx",
    ".Lkboot_wait_uart:",
    "inb %dx, %al",
    "testb $0x20, %al",
    "jnz .Lkboot_send",
    "decl %ecx",
    "jnz .Lkboot_wait_uart",
    ".Lkboot_send:",
    "movl $0x3f8, %edx",
    "movb %bl, %al",
    "outb %al, %dx",
    "ret",
    ".Lkboot_message:",
    ".asciz \"\\r\\nkboot purgatory: memory changed after kexec_load (XXH64 mismatch) in the region at 0x\"",
    ".Lkboot_message_end:",
    ".asciz \"; halting\\r\\n\"",
    ".Lkboot_hex:",
    ".ascii \"0123456789abcdef\"",
    // kboot_purgatory_xxh64(data: rdi, len: rsi) -> rax: XXH64 with seed 0, as the
    // xxHash specification (doc/xxhash_spec.md) defines it. SysV: saves r12 and r13,
    // which hold PRIME64_1 and PRIME64_2; rdi walks the data, rdx is its end, r8-r11
    // are the four stripe accumulators.
    ".balign 16",
    ".globl kboot_purgatory_xxh64",
    "kboot_purgatory_xxh64:",
    "pushq %r12",
    "pushq %r13",
    "movabsq $0x9E3779B185EBCA87, %r12",
    "movabsq $0xC2B2AE3D27D4EB4F, %r13",
    "leaq (%rdi,%rsi), %rdx",
    "cmpq $32, %rsi",
    "jb .Lkboot_xxh_short",
    "leaq (%r12,%r13), %r8",
    "movq %r13, %r9",
    "xorl %r10d, %r10d",
    "movq %r12, %r11",
    "negq %r11",
    ".Lkboot_xxh_stripe:",
    "movq %rdx, %rax",
    "subq %rdi, %rax",
    "cmpq $32, %rax",
    "jb .Lkboot_xxh_merge",
    "movq 0(%rdi), %rax",
    "imulq %r13, %rax",
    "addq %rax, %r8",
    "rolq $31, %r8",
    "imulq %r12, %r8",
    "movq 8(%rdi), %rax",
    "imulq %r13, %rax",
    "addq %rax, %r9",
    "rolq $31, %r9",
    "imulq %r12, %r9",
    "movq 16(%rdi), %rax",
    "imulq %r13, %rax",
    "addq %rax, %r10",
    "rolq $31, %r10",
    "imulq %r12, %r10",
    "movq 24(%rdi), %rax",
    "imulq %r13, %rax",
    "addq %rax, %r11",
    "rolq $31, %r11",
    "imulq %r12, %r11",
    "addq $32, %rdi",
    "jmp .Lkboot_xxh_stripe",
    ".Lkboot_xxh_merge:",
    "movq %r8, %rax",
    "rolq $1, %rax",
    "movq %r9, %rcx",
    "rolq $7, %rcx",
    "addq %rcx, %rax",
    "movq %r10, %rcx",
    "rolq $12, %rcx",
    "addq %rcx, %rax",
    "movq %r11, %rcx",
    "rolq $18, %rcx",
    "addq %rcx, %rax",
    "movabsq $0x85EBCA77C2B2AE63, %rcx",
    "imulq %r13, %r8",
    "rolq $31, %r8",
    "imulq %r12, %r8",
    "xorq %r8, %rax",
    "imulq %r12, %rax",
    "addq %rcx, %rax",
    "imulq %r13, %r9",
    "rolq $31, %r9",
    "imulq %r12, %r9",
    "xorq %r9, %rax",
    "imulq %r12, %rax",
    "addq %rcx, %rax",
    "imulq %r13, %r10",
    "rolq $31, %r10",
    "imulq %r12, %r10",
    "xorq %r10, %rax",
    "imulq %r12, %rax",
    "addq %rcx, %rax",
    "imulq %r13, %r11",
    "rolq $31, %r11",
    "imulq %r12, %r11",
    "xorq %r11, %rax",
    "imulq %r12, %rax",
    "addq %rcx, %rax",
    "jmp .Lkboot_xxh_tail",
    ".Lkboot_xxh_short:",
    "movabsq $0x27D4EB2F165667C5, %rax",
    ".Lkboot_xxh_tail:",
    "addq %rsi, %rax",
    ".Lkboot_xxh_8:",
    "movq %rdx, %rcx",
    "subq %rdi, %rcx",
    "cmpq $8, %rcx",
    "jb .Lkboot_xxh_4",
    "movq (%rdi), %rcx",
    "imulq %r13, %rcx",
    "rolq $31, %rcx",
    "imulq %r12, %rcx",
    "xorq %rcx, %rax",
    "rolq $27, %rax",
    "imulq %r12, %rax",
    "movabsq $0x85EBCA77C2B2AE63, %rcx",
    "addq %rcx, %rax",
    "addq $8, %rdi",
    "jmp .Lkboot_xxh_8",
    ".Lkboot_xxh_4:",
    "cmpq $4, %rcx",
    "jb .Lkboot_xxh_1",
    "movl (%rdi), %ecx",
    "imulq %r12, %rcx",
    "xorq %rcx, %rax",
    "rolq $23, %rax",
    "imulq %r13, %rax",
    "movabsq $0x165667B19E3779F9, %rcx",
    "addq %rcx, %rax",
    "addq $4, %rdi",
    ".Lkboot_xxh_1:",
    "cmpq %rdx, %rdi",
    "jae .Lkboot_xxh_avalanche",
    "movzbl (%rdi), %ecx",
    "movabsq $0x27D4EB2F165667C5, %r8",
    "imulq %r8, %rcx",
    "xorq %rcx, %rax",
    "rolq $11, %rax",
    "imulq %r12, %rax",
    "incq %rdi",
    "jmp .Lkboot_xxh_1",
    ".Lkboot_xxh_avalanche:",
    "movq %rax, %rcx",
    "shrq $33, %rcx",
    "xorq %rcx, %rax",
    "imulq %r13, %rax",
    "movq %rax, %rcx",
    "shrq $29, %rcx",
    "xorq %rcx, %rax",
    "movabsq $0x165667B19E3779F9, %rcx",
    "imulq %rcx, %rax",
    "movq %rax, %rcx",
    "shrq $32, %rcx",
    "xorq %rcx, %rax",
    "popq %r13",
    "popq %r12",
    "ret",
    ".globl kboot_purgatory_end",
    "kboot_purgatory_end:",
    ".popsection",
    options(att_syntax)
);

extern "C" {
    static kboot_purgatory_start: u8;
    static kboot_purgatory_entry: u8;
    static kboot_purgatory_end: u8;
}

/// The assembled purgatory.
pub(crate) fn blob() -> &'static [u8] {
    let start = &raw const kboot_purgatory_start;
    let end = &raw const kboot_purgatory_end;
    let len = (end as usize).saturating_sub(start as usize);
    // SAFETY: both symbols are labels of the one `global_asm!` block above, in the same
    // section, `start` first: the `len` bytes between them are initialised (assembled
    // code and data), never written (the section is not writable), and live for the
    // whole program.
    unsafe { std::slice::from_raw_parts(start, len) }
}

/// Where the code starts inside the blob (the `kexec_load` entry is segment + this).
pub(crate) fn entry_offset() -> u64 {
    let start = &raw const kboot_purgatory_start;
    let entry = &raw const kboot_purgatory_entry;
    (entry as usize).saturating_sub(start as usize) as u64
}

/// One region of physical memory the purgatory checks, and its expected XXH64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    pub start: u64,
    pub len: u64,
    pub xxh64: u64,
}

/// What the purgatory checks before jumping: each region's XXH64 (seed 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Check {
    pub regions: Vec<Region>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum PurgatoryError {
    #[error("{count} regions to check; the purgatory holds {MAX_REGIONS}")]
    TooManyRegions { count: usize },
    #[error(
        "the purgatory's {what} is at {address:#x}, at or above 4 GiB: the 32-bit exit \
         runs with paging off and reaches only the first 4 GiB"
    )]
    Above4G { what: &'static str, address: u64 },
}

/// The check for segments placed at `mem` holding `data` (hashed here with the
/// `xxhash-rust` crate: a second implementation the purgatory's must agree with).
pub(crate) fn check_for<'a>(segments: impl IntoIterator<Item = (u64, &'a [u8])>) -> Check {
    Check {
        regions: segments
            .into_iter()
            .map(|(start, data)| Region {
                start,
                len: data.len() as u64,
                xxh64: xxhash_rust::xxh64::xxh64(data, 0),
            })
            .collect(),
    }
}

/// A copy of the blob with the parameter block filled: the exit `regs` asks for (its
/// stack at `regs.rsp`) after `check`. For the 32-bit exit, the stack (and so the
/// purgatory, whose segment holds it) must lie below 4 GiB.
pub(crate) fn patched(regs: &EntryRegs, check: &Check) -> Result<Vec<u8>, PurgatoryError> {
    if check.regions.len() > MAX_REGIONS {
        return Err(PurgatoryError::TooManyRegions {
            count: check.regions.len(),
        });
    }
    let exit = match regs.mode {
        EntryMode::Long64 => EXIT_LONG64,
        EntryMode::Protected32 => {
            // `rsp` is the end of the stack: its last byte must be reachable.
            let limits = [
                ("entry", regs.rip, FOUR_GIB - 1),
                ("esi", regs.rsi, FOUR_GIB - 1),
                ("stack", regs.rsp, FOUR_GIB),
            ];
            if let Some(&(what, address, _)) = limits.iter().find(|(_, at, max)| at > max) {
                return Err(PurgatoryError::Above4G { what, address });
            }
            EXIT_PROTECTED32
        }
    };
    let mut bytes = blob().to_vec();
    let mut put = |at: usize, value: u64| put_le64(&mut bytes, at, value);
    put(PARAM_RIP, regs.rip);
    put(PARAM_RSI, regs.rsi);
    put(PARAM_RSP, regs.rsp);
    put(PARAM_REGION_COUNT, check.regions.len() as u64);
    put(PARAM_EXIT, exit);
    put(PARAM_EAX, u64::from(regs.eax));
    put(PARAM_EBX, u64::from(regs.ebx));
    for (n, region) in check.regions.iter().enumerate() {
        let at = PARAM_REGIONS + n * REGION_BYTES;
        put(at, region.start);
        put(at + 8, region.len);
        put(at + 16, region.xxh64);
    }
    Ok(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
