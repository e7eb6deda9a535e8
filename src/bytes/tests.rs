use super::*;
use std::io::Cursor;

#[test]
fn fields_read_both_endians_and_never_panic() {
    let buf = [1u8, 2, 3, 4, 5, 6, 7, 8];
    assert_eq!(le16(&buf, 0), 0x0201);
    assert_eq!(le32(&buf, 4), 0x0807_0605);
    assert_eq!(be16(&buf, 0), 0x0102);
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

#[test]
fn writers_round_trip_and_leave_out_of_range_writes_out() {
    let mut buf = [0u8; 16];
    put_le16(&mut buf, 0, 0x0201);
    put_le32(&mut buf, 2, 0x0605_0403);
    put_le64(&mut buf, 8, 0x0f0e_0d0c_0b0a_0908);
    assert_eq!(buf[..6], [1, 2, 3, 4, 5, 6]);
    assert_eq!(le64(&buf, 8), 0x0f0e_0d0c_0b0a_0908);
    put_ne32(&mut buf, 4, 0xdead_beef);
    assert_eq!(ne32(&buf, 4), 0xdead_beef);
    put_ne64(&mut buf, 8, 7);
    assert_eq!(ne64(&buf, 8), 7);
    let before = buf;
    put_le32(&mut buf, 14, u32::MAX);
    put_le64(&mut buf, usize::MAX, u64::MAX);
    assert_eq!(buf, before, "writes past the end change nothing");
}
