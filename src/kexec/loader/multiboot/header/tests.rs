use super::*;

/// A multiboot 1 header with `flags` and, with flag 16, the a.out kludge's addresses
/// (header, load, load end, BSS end, entry).
pub(in crate::kexec::loader::multiboot) fn mb1_header(
    flags: u32,
    aout: Option<[u32; 5]>,
) -> Vec<u8> {
    let mut h = Vec::new();
    for word in [
        MB1_MAGIC,
        flags,
        0u32.wrapping_sub(MB1_MAGIC).wrapping_sub(flags),
    ] {
        h.extend_from_slice(&word.to_le_bytes());
    }
    for word in aout.into_iter().flatten() {
        h.extend_from_slice(&word.to_le_bytes());
    }
    h
}

/// A multiboot 2 header for i386 with `tags` (type, flags, body words) and an end tag.
pub(in crate::kexec::loader::multiboot) fn mb2_header(tags: &[(u16, u16, &[u32])]) -> Vec<u8> {
    let mut body = Vec::new();
    for &(tag_type, flags, words) in tags.iter().chain([(TAG_END, 0, &[][..])].iter()) {
        body.extend_from_slice(&tag_type.to_le_bytes());
        body.extend_from_slice(&flags.to_le_bytes());
        body.extend_from_slice(&(8 + 4 * words.len() as u32).to_le_bytes());
        for w in words {
            body.extend_from_slice(&w.to_le_bytes());
        }
        body.resize(body.len().next_multiple_of(8), 0);
    }
    let length = 16 + body.len() as u32;
    let checksum = 0u32.wrapping_sub(MB2_MAGIC).wrapping_sub(length);
    let mut h = Vec::new();
    for word in [MB2_MAGIC, 0, length, checksum] {
        h.extend_from_slice(&word.to_le_bytes());
    }
    h.extend_from_slice(&body);
    h
}

/// `len` zero bytes with `header` at `at`.
fn file_with(len: usize, at: usize, header: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[at..at + header.len()].copy_from_slice(header);
    f
}

/// Xen 4.17's multiboot 2 tags: required memory information and module alignment,
/// optional relocation, console, framebuffer and EFI tags.
pub(in crate::kexec::loader::multiboot) const XEN_MB2_TAGS: &[(u16, u16, &[u32])] = &[
    (1, 0, &[4, 6]),
    (6, 0, &[]),
    (10, 1, &[0x20_0000, 0xffff_ffff, 0x20_0000, 2]),
    (4, 1, &[2]),
    (5, 1, &[0, 0, 0]),
    (7, 1, &[]),
    (9, 1, &[0x3d_d531]),
];

#[test]
fn a_multiboot1_header_is_found_at_a_4_byte_aligned_offset() {
    let f = file_with(0x2000, 0x88, &mb1_header(3, None));
    let header = find_mb1(&f).unwrap().unwrap();
    assert_eq!(
        header,
        Mb1Header {
            offset: 0x88,
            flags: 3,
            aout: None
        }
    );
    // Not 4-aligned: not a header.
    assert_eq!(
        find_mb1(&file_with(0x2000, 0x86, &mb1_header(3, None))),
        None
    );
}

#[test]
fn a_multiboot1_header_with_a_bad_checksum_is_no_header() {
    let mut h = mb1_header(3, None);
    h[8] ^= 1;
    assert_eq!(find_mb1(&file_with(0x2000, 0x88, &h)), None);
}

#[test]
fn a_multiboot1_header_beyond_8_kib_is_not_found() {
    assert!(find_mb1(&file_with(0x4000, 8192 - 12, &mb1_header(0, None))).is_some());
    assert_eq!(
        find_mb1(&file_with(0x4000, 8192, &mb1_header(0, None))),
        None
    );
}

#[test]
fn unknown_required_multiboot1_flags_are_refused_and_optional_ones_ignored() {
    let f = file_with(0x100, 0, &mb1_header(0x8003, None));
    assert_eq!(
        find_mb1(&f),
        Some(Err(HeaderError::Mb1UnknownFlags {
            offset: 0,
            flags: 0x8003,
            unknown: 0x8000
        }))
    );
    let f = file_with(0x100, 0, &mb1_header(0x0200_0007, None));
    assert_eq!(find_mb1(&f).unwrap().unwrap().flags, 0x0200_0007);
}

#[test]
fn the_multiboot1_a_out_kludge_fields_are_read() {
    let f = file_with(
        0x100,
        0x40,
        &mb1_header(
            MB1_AOUT_KLUDGE,
            Some([0x10_0040, 0x10_0000, 0x10_0100, 0x10_2000, 0x10_0080]),
        ),
    );
    assert_eq!(
        find_mb1(&f).unwrap().unwrap().aout,
        Some(AoutKludge {
            header_addr: 0x10_0040,
            load_addr: 0x10_0000,
            load_end_addr: 0x10_0100,
            bss_end_addr: 0x10_2000,
            entry_addr: 0x10_0080
        })
    );
    // The kludge's fields cut off by the end of the file.
    let f = file_with(0x4c, 0x40, &mb1_header(MB1_AOUT_KLUDGE, None));
    assert_eq!(
        find_mb1(&f),
        Some(Err(HeaderError::Mb1Truncated { offset: 0x40 }))
    );
}

#[test]
fn xens_multiboot2_header_is_read_with_its_tags() {
    let f = file_with(0x1000, 0x98, &mb2_header(XEN_MB2_TAGS));
    let header = find_mb2(&f).unwrap().unwrap();
    assert_eq!(header.offset, 0x98);
    assert_eq!(header.header_length, 136);
    assert_eq!(header.info_requests, [4, 6]);
    assert!(header.module_align);
    assert_eq!(header.console_flags, Some(2));
    assert_eq!(
        header.relocatable,
        Some(Relocatable {
            min_addr: 0x20_0000,
            max_addr: 0xffff_ffff,
            align: 0x20_0000,
            preference: 2
        })
    );
    let types: Vec<(u16, bool)> = header
        .tags
        .iter()
        .map(|t| (t.tag_type, t.optional))
        .collect();
    assert_eq!(
        types,
        [
            (1, false),
            (6, false),
            (10, true),
            (4, true),
            (5, true),
            (7, true),
            (9, true),
            (0, false)
        ]
    );
}

#[test]
fn a_multiboot2_header_must_be_8_aligned_checksummed_and_within_32_kib() {
    let h = mb2_header(&[]);
    assert_eq!(find_mb2(&file_with(0x100, 0x84, &h)), None);
    let mut bad = h.clone();
    bad[12] ^= 1;
    assert_eq!(find_mb2(&file_with(0x100, 0x80, &bad)), None);
    assert!(find_mb2(&file_with(0x9000, 32768 - h.len(), &h)).is_some());
    assert_eq!(find_mb2(&file_with(0x9000, 32768, &h)), None);
}

#[test]
fn a_multiboot2_header_for_another_architecture_is_named() {
    let mut h = mb2_header(&[]);
    h[4] = 4; // MIPS
    let sum = 0u32
        .wrapping_sub(MB2_MAGIC)
        .wrapping_sub(4)
        .wrapping_sub(le32(&h, 8));
    h[12..16].copy_from_slice(&sum.to_le_bytes());
    assert_eq!(
        find_mb2(&file_with(0x100, 0, &h)),
        Some(Err(HeaderError::Mb2Architecture {
            offset: 0,
            architecture: 4
        }))
    );
}

#[test]
fn required_multiboot2_tags_kboot_cannot_honour_are_refused() {
    let refused =
        |tags: &[(u16, u16, &[u32])]| find_mb2(&file_with(0x200, 0, &mb2_header(tags))).unwrap();
    assert_eq!(
        refused(&[(9, 0, &[0x1000])]),
        Err(HeaderError::Mb2NeedsEfi { tag_type: 9 })
    );
    assert_eq!(
        refused(&[(7, 0, &[])]),
        Err(HeaderError::Mb2NeedsEfi { tag_type: 7 })
    );
    assert_eq!(
        refused(&[(5, 0, &[0, 0, 0])]),
        Err(HeaderError::Mb2NeedsFramebuffer)
    );
    assert_eq!(
        refused(&[(42, 0, &[])]),
        Err(HeaderError::Mb2UnknownTag { tag_type: 42 })
    );
    let err = refused(&[(1, 0, &[4, 12, 6, 14])]).unwrap_err();
    assert_eq!(
        err,
        HeaderError::Mb2InfoUnavailable {
            types: vec![12, 14]
        }
    );
    assert!(
        err.to_string().contains("EFI multiboot2 is not supported"),
        "{err}"
    );
    // The same, optional: taken.
    assert!(refused(&[(1, 1, &[4, 12]), (9, 1, &[0x1000]), (42, 1, &[])]).is_ok());
}

#[test]
fn malformed_multiboot2_tags_are_refused() {
    let mut h = mb2_header(&[(6, 0, &[])]);
    h[16 + 4] = 4; // a tag shorter than its own header
    assert!(matches!(
        find_mb2(&file_with(0x200, 0, &h)),
        Some(Err(HeaderError::Mb2BadTag {
            tag_type: 6,
            size: 4,
            ..
        }))
    ));
    // header_length cuts the end tag off.
    let mut h = mb2_header(&[(6, 0, &[])]);
    let length = le32(&h, 8) - 8;
    h[8..12].copy_from_slice(&length.to_le_bytes());
    let sum = 0u32.wrapping_sub(MB2_MAGIC).wrapping_sub(length);
    h[12..16].copy_from_slice(&sum.to_le_bytes());
    assert_eq!(
        find_mb2(&file_with(0x200, 0, &h)),
        Some(Err(HeaderError::Mb2NoEndTag))
    );
}

#[test]
fn the_multiboot2_address_and_entry_tags_make_an_a_out_kludge() {
    let h = mb2_header(&[
        (2, 0, &[0x10_0000, 0x10_0000, 0, 0x10_4000]),
        (3, 0, &[0x10_0020]),
    ]);
    let header = find_mb2(&file_with(0x200, 0, &h)).unwrap().unwrap();
    assert_eq!(header.entry_addr, Some(0x10_0020));
    assert_eq!(
        header.aout,
        Some(AoutKludge {
            header_addr: 0x10_0000,
            load_addr: 0x10_0000,
            load_end_addr: 0,
            bss_end_addr: 0x10_4000,
            entry_addr: 0x10_0020
        })
    );
}

#[test]
fn a_multiboot2_tag_too_short_for_its_fields_is_refused() {
    let h = mb2_header(&[(2, 0, &[0x10_0000, 0x10_0000])]);
    assert!(matches!(
        find_mb2(&file_with(0x200, 0, &h)),
        Some(Err(HeaderError::Mb2BadTag {
            tag_type: 2,
            size: 16,
            ..
        }))
    ));
}
