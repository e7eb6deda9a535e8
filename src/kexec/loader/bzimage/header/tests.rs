use super::*;
use crate::bytes::{put_le16, put_le32};

/// A header as a 64-bit kernel with protocol 2.15, 27 setup sectors and a 1 MiB
/// payload would carry.
fn good_head() -> Vec<u8> {
    let mut h = vec![0u8; HEADER_BYTES];
    h[SETUP_SECTS] = 27;
    put_le32(&mut h, SYSSIZE, 0x10_0000u32 / 16);
    put_le16(&mut h, BOOT_FLAG, 0xaa55u16);
    h[HEADER_MAGIC..HEADER_MAGIC + 4].copy_from_slice(b"HdrS");
    put_le16(&mut h, VERSION, 0x020fu16);
    h[LOADFLAGS] = 1;
    put_le16(&mut h, XLOADFLAGS, 3u16);
    h
}

const WHOLE_LEN: u64 = 28 * 512 + 0x10_0000;

#[test]
fn reads_a_good_header() {
    let h = SetupHeader::parse(&good_head(), WHOLE_LEN).unwrap();
    assert_eq!(h.setup_sects, 27);
    assert_eq!(h.protocol_version, 0x020f);
    assert_eq!(h.kernel_offset_bytes, 28 * 512);
    assert_eq!(h.payload_bytes, 0x10_0000);
    assert!(h.has_64bit_entry());
}

#[test]
fn truncated_file_is_named_with_both_lengths() {
    assert_eq!(
        SetupHeader::parse(&good_head(), WHOLE_LEN - 1),
        Err(BzImageError::Truncated {
            expected: WHOLE_LEN,
            len: WHOLE_LEN - 1
        })
    );
}

#[test]
fn each_bad_byte_has_its_error() {
    let mut h = good_head();
    h[HEADER_MAGIC] = b'X';
    assert_eq!(
        SetupHeader::parse(&h, WHOLE_LEN),
        Err(BzImageError::BadMagic)
    );
    let mut h = good_head();
    h[BOOT_FLAG] = 0;
    assert_eq!(
        SetupHeader::parse(&h, WHOLE_LEN),
        Err(BzImageError::BadMagic)
    );
    let mut h = good_head();
    h[VERSION] = 0x05;
    assert_eq!(
        SetupHeader::parse(&h, WHOLE_LEN),
        Err(BzImageError::OldProtocol { major: 2, minor: 5 })
    );
    let mut h = good_head();
    h[XLOADFLAGS] = 0;
    assert_eq!(
        SetupHeader::parse(&h, WHOLE_LEN),
        Err(BzImageError::No64BitEntry)
    );
    assert_eq!(
        SetupHeader::parse(&h[..100], 100),
        Err(BzImageError::TooShort { len: 100 })
    );
}

#[test]
fn setup_sects_zero_means_four() {
    let mut h = good_head();
    h[SETUP_SECTS] = 0;
    assert_eq!(
        SetupHeader::parse(&h, WHOLE_LEN)
            .unwrap()
            .kernel_offset_bytes,
        5 * 512
    );
}
