use super::*;
use crate::bytes::put_le32;
use crate::devices::partition::tests::read_bytes;

/// An MBR with one extended partition at `extended_lba` of `extended_sectors`.
fn mbr_with_extended(disk_sectors: usize, extended_lba: u32, extended_sectors: u32) -> Vec<u8> {
    let mut disk = vec![0u8; 512 * disk_sectors];
    write_mbr_entry(&mut disk[..512], 0, 0x05, extended_lba, extended_sectors);
    disk
}

#[test]
fn ebr_chain_that_loops_is_an_error() {
    let mut disk = mbr_with_extended(64, 8, 56);
    let ebr = &mut disk[8 * 512..9 * 512];
    write_mbr_entry(ebr, 0, 0x83, 1, 4);
    // The link points back at this same EBR.
    write_mbr_entry(ebr, 1, 0x05, 0, 8);
    assert!(matches!(
        read_bytes(disk).unwrap_err(),
        PartitionError::EbrLoop { ebr_lba: 8 }
    ));
}

#[test]
fn ebr_chain_longer_than_the_limit_is_an_error() {
    let sectors = MAX_LOGICAL_PARTITIONS + 10;
    let mut disk = mbr_with_extended(sectors + 1, 1, sectors as u32);
    for index in 0..sectors - 1 {
        let lba = 1 + index;
        let ebr = &mut disk[lba * 512..(lba + 1) * 512];
        // A one-sector logical would overlap the next EBR; size matters not here.
        write_mbr_entry(ebr, 1, 0x05, index as u32 + 1, 1);
    }
    assert!(matches!(
        read_bytes(disk).unwrap_err(),
        PartitionError::TooManyLogicals {
            limit: MAX_LOGICAL_PARTITIONS
        }
    ));
}

#[test]
fn extended_partition_past_the_disk_is_an_error() {
    let disk = mbr_with_extended(64, 1000, 10);
    // The container itself starts past the end, so it is dropped, but the chain
    // cannot be followed either.
    assert!(matches!(
        read_bytes(disk).unwrap_err(),
        PartitionError::EbrOutOfRange { ebr_lba: 1000 }
    ));
}

#[test]
fn mbr_partition_running_past_the_disk_is_cut_short_like_the_kernel() {
    let mut disk = vec![0u8; 512 * 64];
    write_mbr_entry(&mut disk[..512], 0, 0x83, 8, 1000);
    write_mbr_entry(&mut disk[..512], 1, 0x83, 5000, 10);
    let table = read_bytes(disk).unwrap().unwrap();
    assert_eq!(table.partitions.len(), 1);
    assert_eq!(table.partitions[0].size_bytes, 56 * 512);
}

#[test]
fn mbr_with_bad_boot_flag_is_not_a_table() {
    let mut disk = vec![0u8; 512 * 64];
    write_mbr_entry(&mut disk[..512], 0, 0x83, 8, 10);
    disk[MBR_ENTRIES_AT] = 0x01;
    assert!(read_bytes(disk).unwrap().is_none());
}

pub(crate) fn write_mbr_entry(
    sector: &mut [u8],
    slot: usize,
    type_code: u8,
    start: u32,
    size: u32,
) {
    let at = MBR_ENTRIES_AT + slot * MBR_ENTRY_BYTES;
    sector[at + 4] = type_code;
    put_le32(sector, at + 8, start);
    put_le32(sector, at + 12, size);
    sector[510] = 0x55;
    sector[511] = 0xAA;
}
