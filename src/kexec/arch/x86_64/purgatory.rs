//! The purgatory: the code the running kernel's `relocate_kernel` jumps to once it has
//! copied the segments into place, in 64-bit mode on an identity map, with a GDT that
//! `machine_kexec` has already invalidated. It puts the CPU in the state the x86
//! 64-bit boot protocol asks for and jumps to the kernel:
//!
//! - its own GDT: null, null, 0x10 flat 64-bit code (`__BOOT_CS`), 0x18 flat data
//!   (`__BOOT_DS`), loaded with `lgdt`; CS reloaded with a far return; DS, ES, SS, FS,
//!   GS = 0x18;
//! - a stack (`rsp` from the parameter block: the top of the purgatory's segment);
//! - `rsi` = the zero page, every other general register zero, interrupts off;
//! - `jmp` to `rip` (the kernel's 64-bit entry, load address + 0x200).
//!
//! It is assembled into kboot itself (`global_asm!`) between `kboot_purgatory_start`
//! and `kboot_purgatory_end`, position independent (RIP-relative only), and copied
//! into its own segment at load time with the parameter block at offset 0 patched.
//!
//! Not done (yet): the SHA-256 check of the other segments that kexec-tools'
//! purgatory makes before jumping.
#![allow(unsafe_code)]

/// Parameter block at the start of the blob: `rip`, `rsi`, `rsp`, each a u64.
pub const PARAM_RIP: usize = 0x00;
pub const PARAM_RSI: usize = 0x08;
pub const PARAM_RSP: usize = 0x10;
const PARAMS_END: usize = 0x18;

/// Bytes kept for the stack above the code in the purgatory segment (the segment is
/// the code rounded up to a page plus this).
pub const STACK_BYTES: u64 = 4096;

core::arch::global_asm!(
    ".pushsection .rodata.kboot_purgatory,\"a\"",
    ".balign 16",
    ".globl kboot_purgatory_start",
    "kboot_purgatory_start:",
    // Parameter block, patched by `patched()`.
    ".Lkboot_rip: .quad 0",
    ".Lkboot_rsi: .quad 0",
    ".Lkboot_rsp: .quad 0",
    ".quad 0",
    ".Lkboot_gdt:",
    ".quad 0",                  // 0x00 null
    ".quad 0",                  // 0x08 unused
    ".quad 0x00af9a000000ffff", // 0x10 __BOOT_CS: 64-bit code, execute/read, 4 GiB
    ".quad 0x00cf92000000ffff", // 0x18 __BOOT_DS: data, read/write, 4 GiB
    ".Lkboot_gdt_end:",
    ".Lkboot_gdtr:",
    ".word .Lkboot_gdt_end - .Lkboot_gdt - 1",
    ".quad 0", // base: filled at run time, wherever the blob landed
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
pub fn blob() -> &'static [u8] {
    let start = &raw const kboot_purgatory_start;
    let end = &raw const kboot_purgatory_end;
    let len = (end as usize).saturating_sub(start as usize);
    // SAFETY: both symbols are labels of the one `global_asm!` block above, in the same
    // read-only section, `start` first: the `len` bytes between them are initialised
    // (assembled code and data), never written, and live for the whole program.
    unsafe { std::slice::from_raw_parts(start, len) }
}

/// Where the code starts inside the blob (the `kexec_load` entry is segment + this).
pub fn entry_offset() -> u64 {
    let start = &raw const kboot_purgatory_start;
    let entry = &raw const kboot_purgatory_entry;
    (entry as usize).saturating_sub(start as usize) as u64
}

/// A copy of the blob with the parameter block filled.
pub fn patched(rip: u64, rsi: u64, rsp: u64) -> Vec<u8> {
    let mut bytes = blob().to_vec();
    for (at, value) in [(PARAM_RIP, rip), (PARAM_RSI, rsi), (PARAM_RSP, rsp)] {
        if let Some(slot) = bytes.get_mut(at..at + 8) {
            slot.copy_from_slice(&value.to_le_bytes());
        }
    }
    bytes
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn blob_has_params_then_gdt_then_code() {
        let blob = blob();
        assert!(
            blob.len() > PARAMS_END + 32 && blob.len() < 512,
            "{}",
            blob.len()
        );
        assert_eq!(&blob[..PARAMS_END], &[0u8; PARAMS_END]);
        let gdt = &blob[0x20..0x40];
        assert_eq!(&gdt[0x10..0x18], &0x00af_9a00_0000_ffffu64.to_le_bytes());
        assert_eq!(&gdt[0x18..0x20], &0x00cf_9200_0000_ffffu64.to_le_bytes());
        let entry = entry_offset() as usize;
        assert_eq!(entry % 16, 0);
        // cli; cld
        assert_eq!(&blob[entry..entry + 2], &[0xfa, 0xfc]);
        // ends with jmp *disp32(%rip): ff 25 disp32, pointing back at offset 0
        let jmp = blob.len() - 6;
        assert_eq!(&blob[jmp..jmp + 2], &[0xff, 0x25]);
        let disp = i32::from_le_bytes(blob[jmp + 2..].try_into().unwrap());
        assert_eq!(blob.len() as i64 + i64::from(disp), PARAM_RIP as i64);
    }

    #[test]
    fn patched_fills_the_parameter_block_only() {
        let bytes = patched(0x100_0200, 0x10_0000, 0x20_0000);
        assert_eq!(
            &bytes[PARAM_RIP..PARAM_RIP + 8],
            &0x100_0200u64.to_le_bytes()
        );
        assert_eq!(
            &bytes[PARAM_RSI..PARAM_RSI + 8],
            &0x10_0000u64.to_le_bytes()
        );
        assert_eq!(
            &bytes[PARAM_RSP..PARAM_RSP + 8],
            &0x20_0000u64.to_le_bytes()
        );
        assert_eq!(&bytes[PARAMS_END..], &blob()[PARAMS_END..]);
    }
}
