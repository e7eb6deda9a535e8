//! The purgatory: the code the running kernel's `relocate_kernel` jumps to once it has
//! copied the segments into place, in 64-bit mode on an identity map, with a GDT that
//! `machine_kexec` has already invalidated. It puts the CPU in the state the x86
//! 64-bit boot protocol asks for and jumps to the kernel:
//!
//! - its own GDT: null, null, 0x10 flat 64-bit code (`__BOOT_CS`), 0x18 flat data
//!   (`__BOOT_DS`), loaded with `lgdt`; CS reloaded with a far return; DS, ES, SS, FS,
//!   GS = 0x18;
//! - a stack (`rsp` from the parameter block: the top of the purgatory's segment);
//! - a SHA-256 over the other segments' data (the regions in the parameter block, in
//!   order, as one message) compared with the digest kboot computed when it laid the
//!   image out, as kexec-tools' purgatory does: on a mismatch it says so on the first
//!   serial port (0x3f8) and halts instead of jumping into corrupt memory;
//! - `rsi` = the zero page, every other general register zero, interrupts off;
//! - `jmp` to `rip` (the kernel's 64-bit entry, load address + 0x200).
//!
//! It is assembled into kboot itself (`global_asm!`) between `kboot_purgatory_start`
//! and `kboot_purgatory_end`, position independent (RIP-relative only), and copied
//! into its own segment at load time with the parameter block at offset 0 patched.
//! No SSE: `relocate_kernel` leaves CR4.OSFXSR clear, so only integer instructions.
//! `kboot_purgatory_sha256` follows the SysV calling convention, so the unit tests call
//! it in place, inside kboot, against the standard test vectors and the `sha2` crate.
#![allow(unsafe_code)]

use sha2::{Digest, Sha256};

/// Parameter block at the start of the blob (all little-endian u64 unless said).
pub const PARAM_RIP: usize = 0x00;
pub const PARAM_RSI: usize = 0x08;
pub const PARAM_RSP: usize = 0x10;
/// How many `{u64 start, u64 len}` regions follow; 0 skips the check.
pub const PARAM_REGION_COUNT: usize = 0x18;
/// The expected SHA-256, 32 bytes.
pub const PARAM_DIGEST: usize = 0x20;
pub const PARAM_REGIONS: usize = 0x40;
pub const MAX_REGIONS: usize = 16;
const REGION_BYTES: usize = 16;
const PARAMS_END: usize = PARAM_REGIONS + MAX_REGIONS * REGION_BYTES;

/// Bytes kept for the stack above the code in the purgatory segment (the segment is
/// the code rounded up to a page plus this). The digest needs about 600.
pub const STACK_BYTES: u64 = 4096;

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
    ".Lkboot_digest: .fill 32, 1, 0",
    ".Lkboot_regions: .fill 256, 1, 0",
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
    // Check the segments: digest onto the stack, compare 4 x 8 bytes.
    "movq .Lkboot_region_count(%rip), %rsi",
    "testq %rsi, %rsi",
    "jz .Lkboot_checked",
    "subq $32, %rsp",
    "leaq .Lkboot_regions(%rip), %rdi",
    "movq %rsp, %rdx",
    "call kboot_purgatory_sha256",
    "leaq .Lkboot_digest(%rip), %rdi",
    "xorl %ecx, %ecx",
    ".Lkboot_compare:",
    "movq (%rsp,%rcx,8), %rax",
    "cmpq (%rdi,%rcx,8), %rax",
    "jne .Lkboot_mismatch",
    "incl %ecx",
    "cmpl $4, %ecx",
    "jb .Lkboot_compare",
    "addq $32, %rsp",
    ".Lkboot_checked:",
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
    // Corrupt image: say so on COM1 (bounded wait per byte, in case there is none)
    // and halt for good.
    ".Lkboot_mismatch:",
    "leaq .Lkboot_message(%rip), %rsi",
    ".Lkboot_putc:",
    "movzbl (%rsi), %ebx",
    "testb %bl, %bl",
    "jz .Lkboot_halt",
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
    "incq %rsi",
    "jmp .Lkboot_putc",
    ".Lkboot_halt:",
    "cli",
    "hlt",
    "jmp .Lkboot_halt",
    ".Lkboot_message:",
    ".asciz \"\\r\\nkboot purgatory: SHA-256 of the loaded segments does not match: memory changed after kexec_load; halting\\r\\n\"",
    // kboot_purgatory_sha256(regions: rdi, count: rsi, out: rdx): SHA-256 (FIPS 180-4)
    // of the regions' bytes as one message, written big-endian to out[0..32]. SysV:
    // saves rbx, rbp, r12-r15. Frame: 0 state[8], 32 block buffer[64], 96 buffered
    // bytes, 104 total bytes, 112 next region, 120 regions left, 128 out, 136 source,
    // 144 source bytes left.
    ".balign 16",
    ".globl kboot_purgatory_sha256",
    "kboot_purgatory_sha256:",
    "pushq %rbx",
    "pushq %rbp",
    "pushq %r12",
    "pushq %r13",
    "pushq %r14",
    "pushq %r15",
    "subq $160, %rsp",
    "movq %rdi, 112(%rsp)",
    "movq %rsi, 120(%rsp)",
    "movq %rdx, 128(%rsp)",
    "leaq .Lkboot_sha256_h0(%rip), %rax",
    "movq 0(%rax), %rcx",
    "movq %rcx, 0(%rsp)",
    "movq 8(%rax), %rcx",
    "movq %rcx, 8(%rsp)",
    "movq 16(%rax), %rcx",
    "movq %rcx, 16(%rsp)",
    "movq 24(%rax), %rcx",
    "movq %rcx, 24(%rsp)",
    "movq $0, 96(%rsp)",
    "movq $0, 104(%rsp)",
    ".Lkboot_next_region:",
    "movq 120(%rsp), %rcx",
    "testq %rcx, %rcx",
    "jz .Lkboot_pad",
    "decq %rcx",
    "movq %rcx, 120(%rsp)",
    "movq 112(%rsp), %rax",
    "movq 0(%rax), %rsi",
    "movq 8(%rax), %rcx",
    "addq $16, %rax",
    "movq %rax, 112(%rsp)",
    "addq %rcx, 104(%rsp)",
    ".Lkboot_bytes:",
    "testq %rcx, %rcx",
    "jz .Lkboot_next_region",
    "movq 96(%rsp), %rax",
    "testq %rax, %rax",
    "jnz .Lkboot_one_byte",
    "cmpq $64, %rcx",
    "jb .Lkboot_one_byte",
    // A whole block straight from the source.
    "movq %rsi, 136(%rsp)",
    "movq %rcx, 144(%rsp)",
    "movq %rsp, %rdi",
    "call .Lkboot_sha256_block",
    "movq 136(%rsp), %rsi",
    "movq 144(%rsp), %rcx",
    "addq $64, %rsi",
    "subq $64, %rcx",
    "jmp .Lkboot_bytes",
    ".Lkboot_one_byte:",
    "movzbl (%rsi), %edx",
    "movb %dl, 32(%rsp,%rax)",
    "incq %rax",
    "incq %rsi",
    "decq %rcx",
    "movq %rax, 96(%rsp)",
    "cmpq $64, %rax",
    "jne .Lkboot_bytes",
    "movq $0, 96(%rsp)",
    "movq %rsi, 136(%rsp)",
    "movq %rcx, 144(%rsp)",
    "movq %rsp, %rdi",
    "leaq 32(%rsp), %rsi",
    "call .Lkboot_sha256_block",
    "movq 136(%rsp), %rsi",
    "movq 144(%rsp), %rcx",
    "jmp .Lkboot_bytes",
    // Padding: 0x80, zeros to 56 mod 64, the length in bits big-endian.
    ".Lkboot_pad:",
    "movq 96(%rsp), %rax",
    "movb $0x80, 32(%rsp,%rax)",
    "incq %rax",
    "cmpq $56, %rax",
    "jbe .Lkboot_zero_to_56",
    ".Lkboot_zero_to_64:",
    "cmpq $64, %rax",
    "je .Lkboot_flush",
    "movb $0, 32(%rsp,%rax)",
    "incq %rax",
    "jmp .Lkboot_zero_to_64",
    ".Lkboot_flush:",
    "movq %rsp, %rdi",
    "leaq 32(%rsp), %rsi",
    "call .Lkboot_sha256_block",
    "xorl %eax, %eax",
    ".Lkboot_zero_to_56:",
    "cmpq $56, %rax",
    "je .Lkboot_length",
    "movb $0, 32(%rsp,%rax)",
    "incq %rax",
    "jmp .Lkboot_zero_to_56",
    ".Lkboot_length:",
    "movq 104(%rsp), %rax",
    "shlq $3, %rax",
    "bswapq %rax",
    "movq %rax, 88(%rsp)",
    "movq %rsp, %rdi",
    "leaq 32(%rsp), %rsi",
    "call .Lkboot_sha256_block",
    "movq 128(%rsp), %rdx",
    "xorl %ecx, %ecx",
    ".Lkboot_out:",
    "movl (%rsp,%rcx,4), %eax",
    "bswapl %eax",
    "movl %eax, (%rdx,%rcx,4)",
    "incl %ecx",
    "cmpl $8, %ecx",
    "jb .Lkboot_out",
    "addq $160, %rsp",
    "popq %r15",
    "popq %r14",
    "popq %r13",
    "popq %r12",
    "popq %rbp",
    "popq %rbx",
    "ret",
    // One compression: state at rdi (8 x u32), 64-byte block at rsi. Clobbers rax,
    // rbx, rcx, rdx, rbp, rsi, r8-r15; W[64] on the stack.
    ".Lkboot_sha256_block:",
    "subq $256, %rsp",
    "xorl %ecx, %ecx",
    ".Lkboot_w_load:",
    "movl (%rsi,%rcx,4), %eax",
    "bswapl %eax",
    "movl %eax, (%rsp,%rcx,4)",
    "incl %ecx",
    "cmpl $16, %ecx",
    "jb .Lkboot_w_load",
    ".Lkboot_w_extend:",
    "movl -8(%rsp,%rcx,4), %eax", // W[i-2]
    "movl %eax, %ebx",
    "movl %eax, %edx",
    "rorl $17, %eax",
    "rorl $19, %ebx",
    "shrl $10, %edx",
    "xorl %ebx, %eax",
    "xorl %edx, %eax", // sigma1
    "movl -60(%rsp,%rcx,4), %ebx", // W[i-15]
    "movl %ebx, %edx",
    "movl %ebx, %ebp",
    "rorl $7, %ebx",
    "rorl $18, %edx",
    "shrl $3, %ebp",
    "xorl %edx, %ebx",
    "xorl %ebp, %ebx", // sigma0
    "addl %ebx, %eax",
    "addl -28(%rsp,%rcx,4), %eax", // W[i-7]
    "addl -64(%rsp,%rcx,4), %eax", // W[i-16]
    "movl %eax, (%rsp,%rcx,4)",
    "incl %ecx",
    "cmpl $64, %ecx",
    "jb .Lkboot_w_extend",
    "movl 0(%rdi), %r8d",  // a
    "movl 4(%rdi), %r9d",  // b
    "movl 8(%rdi), %r10d", // c
    "movl 12(%rdi), %r11d", // d
    "movl 16(%rdi), %r12d", // e
    "movl 20(%rdi), %r13d", // f
    "movl 24(%rdi), %r14d", // g
    "movl 28(%rdi), %r15d", // h
    "leaq .Lkboot_sha256_k(%rip), %rdx",
    "xorl %ecx, %ecx",
    ".Lkboot_round:",
    "movl %r12d, %eax",
    "rorl $6, %eax",
    "movl %r12d, %ebx",
    "rorl $11, %ebx",
    "xorl %ebx, %eax",
    "movl %r12d, %ebx",
    "rorl $25, %ebx",
    "xorl %ebx, %eax", // Sigma1(e)
    "movl %r12d, %ebx",
    "andl %r13d, %ebx",
    "movl %r12d, %ebp",
    "notl %ebp",
    "andl %r14d, %ebp",
    "xorl %ebp, %ebx", // Ch(e, f, g)
    "addl %ebx, %eax",
    "addl %r15d, %eax",
    "addl (%rdx,%rcx,4), %eax",
    "addl (%rsp,%rcx,4), %eax", // T1
    "movl %r8d, %ebx",
    "rorl $2, %ebx",
    "movl %r8d, %ebp",
    "rorl $13, %ebp",
    "xorl %ebp, %ebx",
    "movl %r8d, %ebp",
    "rorl $22, %ebp",
    "xorl %ebp, %ebx", // Sigma0(a)
    "movl %r8d, %ebp",
    "andl %r9d, %ebp",
    "movl %r8d, %esi",
    "andl %r10d, %esi",
    "xorl %esi, %ebp",
    "movl %r9d, %esi",
    "andl %r10d, %esi",
    "xorl %esi, %ebp", // Maj(a, b, c)
    "addl %ebp, %ebx", // T2
    "movl %r14d, %r15d",
    "movl %r13d, %r14d",
    "movl %r12d, %r13d",
    "movl %r11d, %r12d",
    "addl %eax, %r12d",
    "movl %r10d, %r11d",
    "movl %r9d, %r10d",
    "movl %r8d, %r9d",
    "movl %eax, %r8d",
    "addl %ebx, %r8d",
    "incl %ecx",
    "cmpl $64, %ecx",
    "jb .Lkboot_round",
    "addl %r8d, 0(%rdi)",
    "addl %r9d, 4(%rdi)",
    "addl %r10d, 8(%rdi)",
    "addl %r11d, 12(%rdi)",
    "addl %r12d, 16(%rdi)",
    "addl %r13d, 20(%rdi)",
    "addl %r14d, 24(%rdi)",
    "addl %r15d, 28(%rdi)",
    "addq $256, %rsp",
    "ret",
    ".balign 4",
    ".Lkboot_sha256_h0:",
    ".long 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a",
    ".long 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19",
    ".Lkboot_sha256_k:",
    ".long 0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5",
    ".long 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174",
    ".long 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da",
    ".long 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967",
    ".long 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85",
    ".long 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070",
    ".long 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3",
    ".long 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2",
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
    // section, `start` first: the `len` bytes between them are initialised (assembled
    // code and data), never written (the section is not writable), and live for the
    // whole program.
    unsafe { std::slice::from_raw_parts(start, len) }
}

/// Where the code starts inside the blob (the `kexec_load` entry is segment + this).
pub fn entry_offset() -> u64 {
    let start = &raw const kboot_purgatory_start;
    let entry = &raw const kboot_purgatory_entry;
    (entry as usize).saturating_sub(start as usize) as u64
}

/// What the purgatory checks before jumping: regions of physical memory (`start`,
/// `len`), hashed in order as one message, and their SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub regions: Vec<(u64, u64)>,
    pub digest: [u8; 32],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PurgatoryError {
    #[error("{count} regions to check; the purgatory holds {MAX_REGIONS}")]
    TooManyRegions { count: usize },
}

/// The check for segments placed at `mem` holding `data` (hashed here, in Rust, with
/// the `sha2` crate: a second implementation the purgatory's must agree with).
pub fn check_for<'a>(segments: impl IntoIterator<Item = (u64, &'a [u8])>) -> Check {
    let mut hasher = Sha256::new();
    let mut regions = Vec::new();
    for (mem, data) in segments {
        hasher.update(data);
        regions.push((mem, data.len() as u64));
    }
    Check {
        regions,
        digest: hasher.finalize().into(),
    }
}

/// A copy of the blob with the parameter block filled.
pub fn patched(rip: u64, rsi: u64, rsp: u64, check: &Check) -> Result<Vec<u8>, PurgatoryError> {
    if check.regions.len() > MAX_REGIONS {
        return Err(PurgatoryError::TooManyRegions {
            count: check.regions.len(),
        });
    }
    let mut bytes = blob().to_vec();
    let mut put = |at: usize, value: &[u8]| {
        if let Some(slot) = bytes.get_mut(at..at + value.len()) {
            slot.copy_from_slice(value);
        }
    };
    put(PARAM_RIP, &rip.to_le_bytes());
    put(PARAM_RSI, &rsi.to_le_bytes());
    put(PARAM_RSP, &rsp.to_le_bytes());
    put(
        PARAM_REGION_COUNT,
        &(check.regions.len() as u64).to_le_bytes(),
    );
    put(PARAM_DIGEST, &check.digest);
    for (n, (start, len)) in check.regions.iter().enumerate() {
        let at = PARAM_REGIONS + n * REGION_BYTES;
        put(at, &start.to_le_bytes());
        put(at + 8, &len.to_le_bytes());
    }
    Ok(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    extern "sysv64" {
        fn kboot_purgatory_sha256(regions: *const [u64; 2], count: u64, out: *mut [u8; 32]);
    }

    /// Runs the purgatory's own SHA-256, in place inside kboot, over `parts` as regions.
    fn purgatory_sha256(parts: &[&[u8]]) -> [u8; 32] {
        let regions: Vec<[u64; 2]> = parts
            .iter()
            .map(|p| [p.as_ptr() as u64, p.len() as u64])
            .collect();
        let mut out = [0u8; 32];
        // SAFETY: the routine follows the SysV ABI (saves rbx, rbp, r12-r15), reads
        // exactly `len` bytes at each region's `start` (live slices borrowed here), and
        // writes 32 bytes to `out`; it touches nothing else but its own stack frame.
        unsafe { kboot_purgatory_sha256(regions.as_ptr(), regions.len() as u64, &mut out) };
        out
    }

    fn hex(digest: &[u8]) -> String {
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn purgatory_sha256_matches_the_fips_180_vectors() {
        assert_eq!(
            hex(&purgatory_sha256(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&purgatory_sha256(&[b"abc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&purgatory_sha256(&[
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            ])),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        let million_a = vec![b'a'; 1_000_000];
        assert_eq!(
            hex(&purgatory_sha256(&[&million_a])),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn purgatory_sha256_agrees_with_sha2_across_region_boundaries() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        // Every padding case (55, 56, 63, 64, 65 bytes) and splits inside blocks.
        for len in [1usize, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 5000] {
            for split in [0usize, 1, 3, 63, 64, 100] {
                let split = split.min(len);
                let (a, b) = data[..len].split_at(split);
                let (b, c) = b.split_at(b.len() / 2);
                assert_eq!(
                    purgatory_sha256(&[a, b, c]),
                    <[u8; 32]>::from(Sha256::digest(&data[..len])),
                    "len {len} split {split}"
                );
            }
        }
    }

    #[test]
    fn blob_has_params_then_gdt_then_code() {
        let blob = blob();
        assert!(
            blob.len() > PARAMS_END + 32 && blob.len() < 2048,
            "{}",
            blob.len()
        );
        assert_eq!(&blob[..PARAMS_END], &[0u8; PARAMS_END]);
        let gdt = &blob[PARAMS_END..PARAMS_END + 0x20];
        assert_eq!(&gdt[0x10..0x18], &0x00af_9a00_0000_ffffu64.to_le_bytes());
        assert_eq!(&gdt[0x18..0x20], &0x00cf_9200_0000_ffffu64.to_le_bytes());
        let entry = entry_offset() as usize;
        assert_eq!(entry % 16, 0);
        // cli; cld
        assert_eq!(&blob[entry..entry + 2], &[0xfa, 0xfc]);
    }

    #[test]
    fn patched_fills_the_parameter_block_only() {
        let check = check_for([(0x100_0000, &b"kernel"[..]), (0x3000_0000, &b"initrd"[..])]);
        assert_eq!(check.regions, [(0x100_0000, 6), (0x3000_0000, 6)]);
        assert_eq!(
            check.digest,
            <[u8; 32]>::from(Sha256::digest(b"kernelinitrd"))
        );
        let bytes = patched(0x100_0200, 0x10_0000, 0x20_0000, &check).unwrap();
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
        assert_eq!(
            &bytes[PARAM_REGION_COUNT..PARAM_REGION_COUNT + 8],
            &2u64.to_le_bytes()
        );
        assert_eq!(&bytes[PARAM_DIGEST..PARAM_DIGEST + 32], &check.digest);
        assert_eq!(
            &bytes[PARAM_REGIONS + 16..PARAM_REGIONS + 24],
            &0x3000_0000u64.to_le_bytes()
        );
        assert_eq!(
            &bytes[PARAM_REGIONS + 24..PARAM_REGIONS + 32],
            &6u64.to_le_bytes()
        );
        assert_eq!(&bytes[PARAM_REGIONS + 32..], &blob()[PARAM_REGIONS + 32..]);
        let too_many = Check {
            regions: vec![(0, 0); MAX_REGIONS + 1],
            digest: [0; 32],
        };
        assert_eq!(
            patched(0, 0, 0, &too_many),
            Err(PurgatoryError::TooManyRegions { count: 17 })
        );
    }
}
