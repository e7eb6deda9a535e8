use super::*;
use std::io::Cursor;

#[test]
fn fields_read_both_endians_and_never_panic() {
    let buf = [1u8, 2, 3, 4, 5, 6, 7, 8];
    assert_eq!(le16(&buf, 0), 0x0201);
    assert_eq!(le32(&buf, 4), 0x0807_0605);
    assert_eq!(be32(&buf, 0), 0x0102_0304);
    assert_eq!(le64(&buf, 0), 0x0807_0605_0403_0201);
    assert_eq!(le32(&buf, 6), 0, "runs past the end");
    assert_eq!(le64(&buf, usize::MAX), 0, "offset overflows");
    assert_eq!(field(&buf, 7, 1), &[8]);
}

#[test]
fn regions_past_the_end_are_absent() {
    let mut dev = Cursor::new(vec![7u8; 100]);
    assert_eq!(
        read_region(&mut dev, 100, 90, 10).unwrap(),
        Some(vec![7u8; 10])
    );
    assert_eq!(read_region(&mut dev, 100, 91, 10).unwrap(), None);
    assert_eq!(read_region(&mut dev, 100, u64::MAX, 10).unwrap(), None);
    // The stated size is larger than what the device really holds: an IO error.
    assert!(read_region(&mut dev, 200, 150, 10).is_err());
}

#[test]
fn a_failed_read_names_the_region_and_the_cause() {
    let mut dev = Cursor::new(vec![0u8; 100]);
    let error = read_vec_at(&mut dev, 96, 8).unwrap_err();
    assert_eq!(error.offset_bytes, 96);
    assert_eq!(error.len_bytes, 8);
    assert_eq!(error.source.kind(), std::io::ErrorKind::UnexpectedEof);
    assert_eq!(
        error.to_string(),
        format!("cannot read 8 bytes at offset 96: {}", error.source)
    );
}
