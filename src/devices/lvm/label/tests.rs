use super::*;
use crate::bytes::{put_le32, put_le64};
use crate::devices::blockdev::Window;
use crate::devices::test_samples::{env_u64, env_value, sample, SampledDisk, DISK_BYTES};
use std::io::Cursor;

/// The label sector lvm2 2.03.16's `pvcreate` wrote on a 16 MiB loop device
/// (bytes 512..672; the rest of the sector is zero).
const REAL_LABEL_HEAD: &str = "4c4142454c4f4e450100000000000000\
        4acbc502200000004c564d3220303031\
        72367573336d6c526178383165386348\
        6d654230674f67727a493236705a3134\
        00000001000000000000100000000000\
        00000000000000000000000000000000\
        00000000000000000010000000000000\
        00f00f00000000000000000000000000\
        00000000000000000200000001000000\
        00000000000000000000000000000000";

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn crc_is_zlib_crc32_without_the_inversions() {
    // Same polynomial and reflection as zlib: seeded with !0 and inverted at the
    // end, calc_crc gives the standard CRC-32 check value.
    let data = b"123456789";
    let mut zlib = flate2::Crc::new();
    zlib.update(data);
    assert_eq!(zlib.sum(), 0xcbf4_3926);
    assert_eq!(!calc_crc(0xffff_ffff, data), zlib.sum());
}

pub(crate) fn label_sector(
    uuid: &[u8; 32],
    size: u64,
    data: &[(u64, u64)],
    mdas: &[(u64, u64)],
) -> Vec<u8> {
    let mut s = vec![0u8; 512];
    s[0..8].copy_from_slice(LABEL_ID);
    put_le64(&mut s, 8, 1u64);
    put_le32(&mut s, 20, 32u32);
    s[24..32].copy_from_slice(LABEL_TYPE);
    s[32..64].copy_from_slice(uuid);
    put_le64(&mut s, 64, size);
    let mut at = 72;
    for list in [data, mdas] {
        for &(o, l) in list.iter().chain(&[(0, 0)]) {
            put_le64(&mut s, at, o);
            put_le64(&mut s, at + 8, l);
            at += 16;
        }
    }
    let crc = calc_crc(INITIAL_CRC, &s[20..]);
    put_le32(&mut s, 16, crc);
    s
}

fn write_mda(img: &mut [u8], area: (u64, u64), text_at: u64, text: &[u8]) {
    let (start, size) = area;
    let mut h = vec![0u8; 512];
    h[4..20].copy_from_slice(MDA_MAGIC);
    put_le32(&mut h, 20, 1u32);
    put_le64(&mut h, 24, start);
    put_le64(&mut h, 32, size);
    put_le64(&mut h, 40, text_at);
    put_le64(&mut h, 48, text.len() as u64);
    put_le32(&mut h, 56, calc_crc(INITIAL_CRC, text));
    let crc = calc_crc(INITIAL_CRC, &h[4..]);
    put_le32(&mut h, 0, crc);
    img[start as usize..start as usize + 512].copy_from_slice(&h);
    // Lay the text into the circular buffer.
    let mut pos = text_at;
    for &b in text {
        if pos == size {
            pos = 512;
        }
        img[(start + pos) as usize] = b;
        pos += 1;
    }
}

const UUID: &[u8; 32] = b"r6us3mlRax81e8cHmeB0gOgrzI26pZ14";

fn text(seqno: u64) -> Vec<u8> {
    let mut t = super::super::metadata::tests::SAMPLE
        .replace("seqno = 4", &format!("seqno = {seqno}"))
        .into_bytes();
    t.push(0);
    t
}

/// A 64 KiB PV with two metadata areas: at 4 KiB and at 32 KiB, 16 KiB each.
fn two_mda_image() -> Vec<u8> {
    let mut img = vec![0u8; 64 << 10];
    let label = label_sector(
        UUID,
        64 << 10,
        &[(48 << 10, 0)],
        &[(4096, 16 << 10), (32 << 10, 16 << 10)],
    );
    img[512..1024].copy_from_slice(&label);
    write_mda(&mut img, (4096, 16 << 10), 512, &text(5));
    write_mda(&mut img, (32 << 10, 16 << 10), 1024, &text(5));
    img
}

#[test]
fn reads_the_label_lvm2_wrote() {
    let mut sector = hex(REAL_LABEL_HEAD);
    sector.resize(512, 0);
    assert_eq!(calc_crc(INITIAL_CRC, &sector[20..]), 0x02c5_cb4a);
    let mut head = vec![0u8; 512];
    head.extend(&sector);
    match parse_label(&head) {
        Ok(Some(h)) => {
            assert_eq!(h.uuid, "r6us3m-lRax-81e8-cHme-B0gO-grzI-26pZ14");
            assert_eq!(h.device_size_bytes, 16 << 20);
            assert_eq!(
                h.data_areas,
                vec![DiskArea {
                    offset_bytes: 1 << 20,
                    size_bytes: 0
                }]
            );
            assert_eq!(
                h.metadata_areas,
                vec![DiskArea {
                    offset_bytes: 4096,
                    size_bytes: 0xff000
                }]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn reads_both_metadata_copies() {
    let img = two_mda_image();
    let pv = read_pv(&mut Cursor::new(&img), img.len() as u64)
        .unwrap()
        .unwrap();
    assert_eq!(pv.uuid, "r6us3m-lRax-81e8-cHme-B0gO-grzI-26pZ14");
    assert_eq!(pv.label_sector, 1);
    assert_eq!(pv.pe_start_bytes, Some(48 << 10));
    assert_eq!(pv.metadata.len(), 2);
    assert_eq!(pv.newest_metadata().unwrap().seqno, 5);
    assert_eq!(pv.newest_metadata().unwrap().vg_name, "sys-vg");
    assert!(pv.damaged_metadata.is_empty());
}

#[test]
fn no_label_is_none() {
    let img = vec![0u8; 8192];
    assert!(read_pv(&mut Cursor::new(&img), 8192).unwrap().is_none());
}

#[test]
fn bad_label_crc_is_an_error_naming_the_offset() {
    let mut img = two_mda_image();
    img[512 + 100] ^= 1;
    let err = read_pv(&mut Cursor::new(&img), img.len() as u64).unwrap_err();
    assert!(
        matches!(
            err,
            LabelError::LabelChecksum {
                offset_bytes: 512,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("offset 512"));
}

#[test]
fn bad_first_mda_checksum_falls_back_to_the_second_copy() {
    let mut img = two_mda_image();
    img[4096 + 300] ^= 1;
    let pv = read_pv(&mut Cursor::new(&img), img.len() as u64)
        .unwrap()
        .unwrap();
    assert_eq!(pv.metadata.len(), 1);
    assert_eq!(pv.metadata[0].area_offset_bytes, 32 << 10);
    assert!(matches!(
        pv.damaged_metadata[..],
        [LabelError::MdaChecksum {
            offset_bytes: 4096,
            ..
        }]
    ));
    // Both damaged: the first error is returned.
    img[(32 << 10) + 300] ^= 1;
    let err = read_pv(&mut Cursor::new(&img), img.len() as u64).unwrap_err();
    assert!(matches!(
        err,
        LabelError::MdaChecksum {
            offset_bytes: 4096,
            ..
        }
    ));
}

#[test]
fn bad_magic_and_bad_text_checksum_are_typed() {
    let mut img = two_mda_image();
    img[4096 + 5] = b'X';
    let crc = calc_crc(INITIAL_CRC, &img[4096 + 4..4096 + 512]);
    put_le32(&mut img, 4096, crc);
    img[(32 << 10) + 1024 + 10] ^= 1;
    let err = read_pv(&mut Cursor::new(&img), img.len() as u64).unwrap_err();
    assert!(
        matches!(err, LabelError::MdaMagic { offset_bytes: 4096 }),
        "{err}"
    );
    let mut img = two_mda_image();
    img[4096 + 512 + 10] ^= 1;
    let pv = read_pv(&mut Cursor::new(&img), img.len() as u64)
        .unwrap()
        .unwrap();
    assert!(matches!(
        pv.damaged_metadata[..],
        [LabelError::TextChecksum {
            offset_bytes: 4608,
            ..
        }]
    ));
}

#[test]
fn text_wrapping_around_the_circular_buffer_is_joined() {
    let mut img = vec![0u8; 64 << 10];
    let label = label_sector(UUID, 64 << 10, &[(48 << 10, 0)], &[(4096, 16 << 10)]);
    img[512..1024].copy_from_slice(&label);
    let t = text(9);
    // Start 1000 bytes before the end of the area so the rest wraps to offset 512.
    let text_at = (16 << 10) - 1000;
    write_mda(&mut img, (4096, 16 << 10), text_at, &t);
    let location = RawLocation {
        offset_bytes: text_at,
        size_bytes: t.len() as u64,
        checksum: 0,
        ignored: false,
    };
    assert_eq!(
        text_ranges(location, 16 << 10),
        [(text_at, 1000), (512, t.len() as u64 - 1000)]
    );
    let pv = read_pv(&mut Cursor::new(&img), img.len() as u64)
        .unwrap()
        .unwrap();
    assert_eq!(pv.metadata[0].seqno, 9);
    assert_eq!(pv.metadata[0].text.as_bytes(), &t[..t.len() - 1]);
}

#[test]
fn truncated_text_and_truncated_device_are_errors() {
    // Text cut short (with a checksum that matches the short text).
    let mut img = vec![0u8; 64 << 10];
    let label = label_sector(UUID, 64 << 10, &[(48 << 10, 0)], &[(4096, 16 << 10)]);
    img[512..1024].copy_from_slice(&label);
    let t = text(3);
    write_mda(&mut img, (4096, 16 << 10), 512, &t[..t.len() / 2]);
    let err = read_pv(&mut Cursor::new(&img), img.len() as u64).unwrap_err();
    assert!(
        matches!(
            err,
            LabelError::Text {
                offset_bytes: 4608,
                ..
            }
        ),
        "{err}"
    );
    // The device ends inside the metadata area.
    let img = two_mda_image();
    let short = &img[..16 << 10];
    let err = read_pv(&mut Cursor::new(short), short.len() as u64).unwrap_err();
    assert!(
        matches!(
            err,
            LabelError::BadMda {
                offset_bytes: 4096,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn ignored_and_empty_metadata_areas_give_no_copies() {
    let mut img = two_mda_image();
    for start in [4096usize, 32 << 10] {
        img[start + 60] = 1; // flags: IGNORED
        let crc = calc_crc(INITIAL_CRC, &img[start + 4..start + 512]);
        put_le32(&mut img, start, crc);
    }
    let pv = read_pv(&mut Cursor::new(&img), img.len() as u64)
        .unwrap()
        .unwrap();
    assert!(pv.metadata.is_empty() && pv.damaged_metadata.is_empty());
}

/// The PV at `offset_bytes` of a sampled disk (`tests/data/md-lvm/`), read as a
/// device of `size_bytes`: the PV lvm2 wrote, seen through kboot's reader.
pub(crate) fn sample_pv(
    set: &str,
    disk: u32,
    offset_bytes: u64,
    size_bytes: u64,
) -> PhysicalVolume {
    let disk = SampledDisk::new(set, disk);
    let mut window = Window::new(disk, offset_bytes, size_bytes);
    read_pv(&mut window, size_bytes).unwrap().unwrap()
}

/// The PV inside the md array of a GPT set: it starts at the array's data offset
/// inside the partition, and is as large as the array.
pub(crate) fn sample_pv_on_md(set: &str, disk: u32) -> PhysicalVolume {
    let offset_bytes = env_u64(set, &format!("DISK{disk}_MEMBER_OFFSET_BYTES"))
        + env_u64(set, &format!("MD_MEMBER{disk}_DATA_OFFSET_SECTORS")) * SECTOR_BYTES;
    sample_pv(set, disk, offset_bytes, env_u64(set, "MD_SIZE_BYTES"))
}

/// What `pvs` printed for PV `n` of a set, against what kboot read.
fn assert_pv_matches_env(pv: &PhysicalVolume, set: &str, n: u32) {
    let key = |field: &str| format!("PV{n}_{field}");
    assert_eq!(pv.uuid, env_value(set, &key("UUID")));
    assert_eq!(pv.label_sector, 1, "pvcreate writes the label in sector 1");
    let pe_start_bytes = env_u64(set, &key("PE_START_SECTORS")) * SECTOR_BYTES;
    assert_eq!(pv.pe_start_bytes, Some(pe_start_bytes));
    assert_eq!(
        pv.data_areas,
        [DiskArea {
            offset_bytes: pe_start_bytes,
            size_bytes: 0
        }]
    );
    // One metadata area, right after the label's 4 KiB, up to pe_start.
    let mda_bytes = env_u64(set, &key("MDA_SIZE_SECTORS")) * SECTOR_BYTES;
    assert_eq!(
        pv.metadata_areas,
        [DiskArea {
            offset_bytes: 4096,
            size_bytes: mda_bytes
        }]
    );
    assert_eq!(4096 + mda_bytes, pe_start_bytes);
    assert!(pv.damaged_metadata.is_empty(), "{:?}", pv.damaged_metadata);
    assert_eq!(pv.metadata.len(), 1);
    assert_eq!(
        pv.newest_metadata().unwrap().seqno,
        env_u64(set, "VG_SEQNO")
    );
}

#[test]
fn reads_the_bare_pv_lvm2_wrote_on_a_whole_disk() {
    // r1090 disk3 is /dev/vdc, a PV of its own (PV2 in r1090.env).
    let pv = sample_pv("r1090", 3, 0, DISK_BYTES);
    assert_pv_matches_env(&pv, "r1090", 2);
    // `pvs` printed dev_size 196608S for /dev/vdc.
    assert_eq!(pv.device_size_bytes, 196_608 * SECTOR_BYTES);
    let copy = pv.newest_metadata().unwrap();
    assert_eq!(copy.vg_name, "data");
    assert_eq!(copy.area_offset_bytes, 4096);
}

#[test]
fn reads_the_pv_on_a_0_90_array_from_either_member() {
    // md0's data starts at sector 0 of each whole-disk member, so both members
    // carry md0's PV label at sector 1.
    for disk in [1, 2] {
        let pv = sample_pv("r1090", disk, 0, env_u64("r1090", "MD_SIZE_BYTES"));
        assert_pv_matches_env(&pv, "r1090", 1);
        // `pvs` printed dev_size 196480S for /dev/md0.
        assert_eq!(pv.device_size_bytes, 196_480 * SECTOR_BYTES);
        assert_eq!(pv.newest_metadata().unwrap().vg_name, "data");
    }
}

#[test]
fn reads_the_pvs_inside_1_2_arrays_from_every_member() {
    for (set, disks, vg) in [("r1lvm", 2, "sys-vg"), ("stale", 3, "vgs")] {
        for disk in 1..=disks {
            let pv = sample_pv_on_md(set, disk);
            assert_pv_matches_env(&pv, set, 1);
            assert_eq!(pv.device_size_bytes, env_u64(set, "MD_SIZE_BYTES"));
            assert_eq!(
                pv.newest_metadata().unwrap().vg_name,
                vg,
                "{set} disk{disk}"
            );
        }
    }
}

#[test]
fn members_of_1_2_arrays_carry_no_label_of_their_own() {
    // The PV label is in the array's data area, 1 MiB into the partition, not in
    // the partition's first sectors (where the md superblock is).
    for (set, disks) in [("r1lvm", 2), ("r5", 3), ("stale", 3)] {
        for disk in 1..=disks {
            let head = sample(&format!("{set}-disk{disk}-head.bin.gz"));
            let member = env_u64(set, &format!("DISK{disk}_MEMBER_OFFSET_BYTES")) as usize;
            let sectors = &head[member..member + 4 * SECTOR_BYTES as usize];
            assert!(parse_label(sectors).unwrap().is_none(), "{set} disk{disk}");
        }
    }
}
