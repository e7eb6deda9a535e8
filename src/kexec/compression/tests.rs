use std::io::Write;

use super::*;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn a_file_unpacks_every_gzip_member_as_zcat_does() {
    let file = [gzip(b"first "), gzip(b"second")].concat();
    assert_eq!(
        decompress(Compression::Gzip, &file, Framing::File).unwrap(),
        b"first second"
    );
}

#[test]
fn a_bzimage_payload_unpacks_its_stream_and_leaves_kbuilds_size_word() {
    let mut payload = gzip(b"vmlinux bytes");
    payload.extend_from_slice(&13u32.to_le_bytes());
    let framing = Framing::Payload {
        limit_bytes: 1 << 20,
    };
    assert_eq!(
        decompress(Compression::Gzip, &payload, framing).unwrap(),
        b"vmlinux bytes"
    );
    let cut = Framing::Payload { limit_bytes: 7 };
    assert_eq!(
        decompress(Compression::Gzip, &payload, cut).unwrap(),
        b"vmlinux"
    );
}
