use super::*;
use crate::bytes::le64;

extern "sysv64" {
    fn kboot_purgatory_xxh64(data: *const u8, len: u64) -> u64;
}

extern "C" {
    static kboot_purgatory_gdt32: u8;
}

/// Where the 32-bit exit's GDT sits in the blob.
fn gdt32_offset() -> usize {
    let start = &raw const kboot_purgatory_start;
    let gdt32 = &raw const kboot_purgatory_gdt32;
    gdt32 as usize - start as usize
}

/// A segment descriptor's fields (SDM vol. 3, 3.4.5), decoded from its 8 bytes.
#[derive(Debug, PartialEq, Eq)]
struct Descriptor {
    base: u32,
    /// In units of 4 KiB when `granularity_4k`.
    limit: u32,
    /// Type (4 bits), S, DPL, P: the access byte.
    access: u8,
    long_mode: bool,
    default_32bit: bool,
    granularity_4k: bool,
}

impl Descriptor {
    fn decode(bytes: &[u8]) -> Descriptor {
        let d = le64(bytes, 0);
        Descriptor {
            base: ((d >> 16) & 0xff_ffff | ((d >> 56) & 0xff) << 24) as u32,
            limit: ((d & 0xffff) | ((d >> 48) & 0xf) << 16) as u32,
            access: (d >> 40) as u8,
            long_mode: d >> 53 & 1 == 1,
            default_32bit: d >> 54 & 1 == 1,
            granularity_4k: d >> 55 & 1 == 1,
        }
    }

    /// The last byte the segment reaches.
    fn last_byte(&self) -> u64 {
        let limit = u64::from(self.limit);
        u64::from(self.base)
            + if self.granularity_4k {
                (limit << 12) | 0xfff
            } else {
                limit
            }
    }
}

/// Present, DPL 0, code or data (S), and the type: execute/read code, or read/write
/// data.
const CODE_EXECUTE_READ: u8 = 0x9a;
const DATA_READ_WRITE: u8 = 0x92;

/// Runs the purgatory's own XXH64, in place inside kboot, over `data`.
fn purgatory_xxh64(data: &[u8]) -> u64 {
    // SAFETY: the routine follows the SysV ABI (saves r12 and r13, the only
    // callee-saved registers it uses), reads exactly `len` bytes at `data` (a live
    // slice borrowed here) and writes only its own stack frame.
    unsafe { kboot_purgatory_xxh64(data.as_ptr(), data.len() as u64) }
}

#[test]
fn purgatory_xxh64_matches_the_reference_vectors() {
    // From the xxHash reference implementation's sanity checks (seed 0).
    assert_eq!(purgatory_xxh64(b""), 0xEF46_DB37_51D8_E999);
    assert_eq!(purgatory_xxh64(b"a"), 0xD24E_C4F1_A98C_6E5B);
    assert_eq!(purgatory_xxh64(b"abc"), 0x44BC_2CF5_AD77_0999);
}

#[test]
fn purgatory_xxh64_agrees_with_the_crate_at_every_tail_length() {
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    // Every stripe remainder (0..32), both sides of the 32-byte switch, large.
    let lengths = (0..=100).chain([127, 128, 129, 1000, 4093, 5000]);
    for len in lengths {
        for offset in [0usize, 1, 3, 7] {
            let slice = &data[offset..offset + len.min(data.len() - offset)];
            assert_eq!(
                purgatory_xxh64(slice),
                xxhash_rust::xxh64::xxh64(slice, 0),
                "len {} offset {offset}",
                slice.len()
            );
        }
    }
}

#[test]
fn blob_has_params_then_gdts_then_code() {
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
    let gdt32 = gdt32_offset();
    assert!(gdt32 > PARAMS_END && gdt32.is_multiple_of(8), "{gdt32:#x}");
    let entry = entry_offset() as usize;
    assert!(entry > gdt32 + 0x20);
    assert_eq!(entry % 16, 0);
    // cli; cld
    assert_eq!(&blob[entry..entry + 2], &[0xfa, 0xfc]);
}

#[test]
fn parameter_block_words_follow_one_another_then_the_regions() {
    let words = [
        PARAM_RIP,
        PARAM_RSI,
        PARAM_RSP,
        PARAM_REGION_COUNT,
        PARAM_EXIT,
        PARAM_EAX,
        PARAM_EBX,
        PARAM_REGIONS,
    ];
    for (n, at) in words.iter().enumerate() {
        assert_eq!(*at, n * 8);
    }
    assert_eq!(PARAMS_END, PARAM_REGIONS + MAX_REGIONS * REGION_BYTES);
    assert_eq!((EXIT_LONG64, EXIT_PROTECTED32), (0, 1));
}

#[test]
fn gdt64_has_64bit_boot_cs_and_flat_boot_ds() {
    let gdt = &blob()[PARAMS_END..PARAMS_END + 0x20];
    assert_eq!(&gdt[..0x10], &[0u8; 0x10], "null, unused");
    let code = Descriptor::decode(&gdt[0x10..]);
    assert_eq!(code.access, CODE_EXECUTE_READ);
    assert!(
        code.long_mode && !code.default_32bit,
        "64-bit code: L=1, D=0"
    );
    let data = Descriptor::decode(&gdt[0x18..]);
    assert_eq!(data.access, DATA_READ_WRITE);
    assert_eq!((data.base, data.last_byte()), (0, 0xffff_ffff));
}

#[test]
fn gdt32_has_flat_32bit_boot_cs_and_boot_ds() {
    let at = gdt32_offset();
    let gdt = &blob()[at..at + 0x20];
    assert_eq!(&gdt[..0x10], &[0u8; 0x10], "null, unused");
    let code = Descriptor::decode(&gdt[0x10..]);
    assert_eq!(
        code,
        Descriptor {
            base: 0,
            limit: 0xf_ffff,
            access: CODE_EXECUTE_READ,
            long_mode: false,
            default_32bit: true,
            granularity_4k: true,
        },
        "__BOOT_CS 0x10: flat 32-bit code"
    );
    assert_eq!(code.last_byte(), 0xffff_ffff);
    let data = Descriptor::decode(&gdt[0x18..]);
    assert_eq!(
        data,
        Descriptor {
            base: 0,
            limit: 0xf_ffff,
            access: DATA_READ_WRITE,
            long_mode: false,
            default_32bit: true,
            granularity_4k: true,
        },
        "__BOOT_DS 0x18: flat data, 32-bit stack (B=1)"
    );
    // The GDTR right after it: limit = 4 descriptors - 1, base left for run time.
    assert_eq!(&blob()[at + 0x20..at + 0x22], &0x1fu16.to_le_bytes());
}

#[test]
fn patched_fills_the_parameter_block_only() {
    let check = check_for([(0x100_0000, &b"kernel"[..]), (0x3000_0000, &b"initrd"[..])]);
    let xxh = |data: &[u8]| xxhash_rust::xxh64::xxh64(data, 0);
    assert_eq!(
        check.regions,
        [
            Region {
                start: 0x100_0000,
                len: 6,
                xxh64: xxh(b"kernel")
            },
            Region {
                start: 0x3000_0000,
                len: 6,
                xxh64: xxh(b"initrd")
            }
        ]
    );
    let regs = EntryRegs {
        rip: 0x100_0200,
        rsi: 0x10_0000,
        rsp: 0x20_0000,
        ..EntryRegs::default()
    };
    let bytes = patched(&regs, &check).unwrap();
    let word = |at: usize| le64(&bytes, at);
    assert_eq!(word(PARAM_RIP), 0x100_0200);
    assert_eq!(word(PARAM_RSI), 0x10_0000);
    assert_eq!(word(PARAM_RSP), 0x20_0000);
    assert_eq!(word(PARAM_REGION_COUNT), 2);
    assert_eq!(word(PARAM_EXIT), EXIT_LONG64);
    assert_eq!((word(PARAM_EAX), word(PARAM_EBX)), (0, 0));
    assert_eq!(word(PARAM_REGIONS), 0x100_0000);
    assert_eq!(word(PARAM_REGIONS + 8), 6);
    assert_eq!(word(PARAM_REGIONS + 16), xxh(b"kernel"));
    assert_eq!(word(PARAM_REGIONS + 24), 0x3000_0000);
    assert_eq!(word(PARAM_REGIONS + 32), 6);
    assert_eq!(word(PARAM_REGIONS + 40), xxh(b"initrd"));
    let unused = PARAM_REGIONS + 2 * REGION_BYTES;
    assert_eq!(&bytes[unused..], &blob()[unused..]);
    let too_many = Check {
        regions: vec![
            Region {
                start: 0,
                len: 0,
                xxh64: 0
            };
            MAX_REGIONS + 1
        ],
    };
    assert_eq!(
        patched(&EntryRegs::default(), &too_many),
        Err(PurgatoryError::TooManyRegions { count: 17 })
    );
}

#[test]
fn patched_fills_the_32bit_exit() {
    let check = check_for([(0x20_0000, &b"xen"[..])]);
    let regs = EntryRegs {
        mode: EntryMode::Protected32,
        rip: 0x20_0000,
        rsi: 0x12_3000,
        rsp: 0xffff_f000,
        eax: 0x2bad_b002,
        ebx: 0x10_0000,
    };
    let bytes = patched(&regs, &check).unwrap();
    let word = |at: usize| le64(&bytes, at);
    assert_eq!(word(PARAM_EXIT), EXIT_PROTECTED32);
    assert_eq!(word(PARAM_RIP), 0x20_0000, "eip");
    assert_eq!(word(PARAM_RSI), 0x12_3000, "esi");
    assert_eq!(word(PARAM_RSP), 0xffff_f000);
    assert_eq!(word(PARAM_EAX), 0x2bad_b002);
    assert_eq!(word(PARAM_EBX), 0x10_0000);
    assert_eq!(word(PARAM_REGION_COUNT), 1);
    assert_eq!(word(PARAM_REGIONS), 0x20_0000);
    let unused = PARAM_REGIONS + REGION_BYTES;
    assert_eq!(&bytes[unused..], &blob()[unused..]);
}

#[test]
fn the_32bit_exit_refuses_what_32_bits_cannot_reach() {
    let check = Check { regions: vec![] };
    let below = EntryRegs {
        mode: EntryMode::Protected32,
        rip: 0x100_0000,
        rsi: 0x10_0000,
        rsp: FOUR_GIB,
        ..EntryRegs::default()
    };
    assert!(
        patched(&below, &check).is_ok(),
        "a stack ending at 4 GiB fits"
    );
    for (what, regs) in [
        (
            "stack",
            EntryRegs {
                rsp: FOUR_GIB + 0x1000,
                ..below
            },
        ),
        (
            "entry",
            EntryRegs {
                rip: FOUR_GIB,
                ..below
            },
        ),
        (
            "esi",
            EntryRegs {
                rsi: FOUR_GIB,
                ..below
            },
        ),
    ] {
        assert_eq!(
            patched(&regs, &check),
            Err(PurgatoryError::Above4G {
                what,
                address: match what {
                    "stack" => FOUR_GIB + 0x1000,
                    _ => FOUR_GIB,
                }
            })
        );
    }
    let long = EntryRegs {
        mode: EntryMode::Long64,
        rip: 0x1_2000_0200,
        ..below
    };
    assert!(patched(&long, &check).is_ok(), "no limit in long mode");
}
