use super::*;
use crate::bytes::le64;

extern "sysv64" {
    fn kboot_purgatory_xxh64(data: *const u8, len: u64) -> u64;
}

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
    let bytes = patched(0x100_0200, 0x10_0000, 0x20_0000, &check).unwrap();
    let word = |at: usize| le64(&bytes, at);
    assert_eq!(word(PARAM_RIP), 0x100_0200);
    assert_eq!(word(PARAM_RSI), 0x10_0000);
    assert_eq!(word(PARAM_RSP), 0x20_0000);
    assert_eq!(word(PARAM_REGION_COUNT), 2);
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
        patched(0, 0, 0, &too_many),
        Err(PurgatoryError::TooManyRegions { count: 17 })
    );
}
