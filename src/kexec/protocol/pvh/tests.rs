use super::*;
use crate::bytes::{le32, le64};
use crate::kexec::image::LOW_LIMIT_BYTES;
use crate::kexec::memmap::{E820_ACPI, E820_PRAM, E820_RAM, E820_RESERVED};

const ENTRY: u32 = 0x100_0010;
const CMDLINE: &str = "console=ttyS0 kboot.marker=pvh";

fn range(start: u64, end: u64, e820_type: u32) -> MemRange {
    MemRange {
        start,
        end,
        e820_type,
    }
}

/// QEMU's 1 GiB map with an ACPI range, a persistent-memory (type 12) range and RAM
/// above 4 GiB.
fn memmap() -> Vec<MemRange> {
    vec![
        range(0, 0x9_fc00, E820_RAM),
        range(0xf_0000, 0x10_0000, E820_RESERVED),
        range(0x10_0000, 0x3ffd_d000, E820_RAM),
        range(0x3ffd_d000, 0x4000_0000, E820_ACPI),
        range(0x8000_0000, 0x9000_0000, E820_PRAM),
        range(0x1_0000_0000, 0x2_0000_0000, E820_RAM),
    ]
}

fn configured(ramdisk: Vec<u8>) -> (DomImage, Handoff) {
    let mut image = DomImage::new(Vec::new(), ramdisk, CMDLINE.into(), memmap());
    image.acpi_rsdp_addr = Some(0xf_5a40);
    let handoff = configure(&mut image, &PvhKernel { entry: ENTRY }).unwrap();
    (image, handoff)
}

fn start_info_block(image: &DomImage) -> (u64, &[u8]) {
    let segment = image.segment(SegmentRole::BootParams).unwrap();
    (segment.mem, image.bytes(&segment.data))
}

#[test]
fn the_structures_have_the_sizes_of_start_info_h() {
    assert_eq!(START_INFO_BYTES, 56);
    assert_eq!(MODLIST_ENTRY_BYTES, 32);
    assert_eq!(MEMMAP_ENTRY_BYTES, 24);
    assert_eq!(
        block_layout(1, 6, CMDLINE.len(), 0),
        BlockLayout {
            modlist_at: 56,
            memmap_at: 88,
            cmdline_at: 88 + 6 * 24,
            rsdp_at: (88 + 6 * 24 + CMDLINE.len() + 1).next_multiple_of(16),
            total: 88 + 6 * 24 + CMDLINE.len() + 1,
        }
    );
    let with_rsdp = block_layout(1, 6, CMDLINE.len(), 36);
    assert_eq!(with_rsdp.rsdp_at % 16, 0);
    assert!(with_rsdp.rsdp_at > with_rsdp.cmdline_at + CMDLINE.len());
    assert_eq!(with_rsdp.total, with_rsdp.rsdp_at + 36);
}

#[test]
fn start_info_field_by_field() {
    let (image, handoff) = configured(vec![0xab; 10_000]);
    let (base, b) = start_info_block(&image);
    assert_eq!(
        handoff,
        Handoff::Protected32 {
            eip: ENTRY,
            eax: 0,
            ebx: base as u32,
            esi: 0
        }
    );
    let layout = block_layout(1, 6, CMDLINE.len(), 0);
    assert_eq!(b.len(), layout.total);
    assert_eq!(le32(b, 0), 0x336e_c578, "magic");
    assert_eq!(le32(b, 4), 1, "version");
    assert_eq!(le32(b, 8), 0, "flags");
    assert_eq!(le32(b, 12), 1, "nr_modules");
    assert_eq!(le64(b, 16), base + 56, "modlist_paddr");
    assert_eq!(
        le64(b, 24),
        base + layout.cmdline_at as u64,
        "cmdline_paddr"
    );
    assert_eq!(le64(b, 32), 0xf_5a40, "rsdp_paddr");
    assert_eq!(le64(b, 40), base + 88, "memmap_paddr");
    assert_eq!(le32(b, 48), 6, "memmap_entries");
    assert_eq!(le32(b, 52), 0, "reserved");
    let cmdline = &b[layout.cmdline_at..];
    assert_eq!(cmdline, format!("{CMDLINE}\0").as_bytes());

    let info = image.pvh_start_info.as_ref().unwrap();
    assert_eq!(info.start_info_paddr.0, base);
    assert_eq!(info.cmdline, CMDLINE);
    assert_eq!(info.rsdp_paddr.0, 0xf_5a40);
}

#[test]
fn the_ramdisk_is_module_0_with_no_command_line() {
    let (image, _) = configured(vec![0xab; 10_000]);
    let ramdisk = image.segment(SegmentRole::Ramdisk).unwrap();
    assert_eq!(image.bytes(&ramdisk.data).len(), 10_000);
    let (_, b) = start_info_block(&image);
    assert_eq!(le64(b, 56), ramdisk.mem, "paddr");
    assert_eq!(le64(b, 64), 10_000, "size");
    assert_eq!(le64(b, 72), 0, "cmdline_paddr");
    assert_eq!(le64(b, 80), 0, "reserved");
}

#[test]
fn memmap_entries_are_the_targets_map_with_unknown_types_reserved() {
    let (image, _) = configured(Vec::new());
    let (_, b) = start_info_block(&image);
    // No module: the map follows the module list's empty place.
    let at = block_layout(0, 6, CMDLINE.len(), 0).memmap_at;
    let entries: Vec<(u64, u64, u32, u32)> = (0..6)
        .map(|i| {
            let e = at + i * 24;
            (le64(b, e), le64(b, e + 8), le32(b, e + 16), le32(b, e + 20))
        })
        .collect();
    assert_eq!(
        entries,
        [
            (0, 0x9_fc00, 1, 0),
            (0xf_0000, 0x1_0000, 2, 0),
            (0x10_0000, 0x3fed_d000, 1, 0),
            (0x3ffd_d000, 0x2_3000, 3, 0),
            (0x8000_0000, 0x1000_0000, 2, 0),
            (0x1_0000_0000, 0x1_0000_0000, 1, 0),
        ]
    );
}

#[test]
fn no_ramdisk_means_no_module_and_no_module_list() {
    let (image, _) = configured(Vec::new());
    assert!(image.segment(SegmentRole::Ramdisk).is_none());
    let (_, b) = start_info_block(&image);
    assert_eq!(le32(b, 12), 0, "nr_modules");
    assert_eq!(le64(b, 16), 0, "modlist_paddr");
}

#[test]
fn everything_is_placed_above_1_mib_and_below_4_gib() {
    let (image, _) = configured(vec![1; 3 << 20]);
    for segment in &image.segments {
        assert!(segment.mem >= LOW_LIMIT_BYTES, "{segment:?}");
        assert!(segment.end() <= FOUR_GIB, "{segment:?}");
    }
    // Top-down: at the top of the RAM below 4 GiB, out of the kernel's way.
    let ramdisk = image.segment(SegmentRole::Ramdisk).unwrap();
    assert_eq!(ramdisk.end(), 0x3ffd_d000);
}

#[test]
fn a_nul_in_the_command_line_is_refused() {
    let mut image = DomImage::new(Vec::new(), Vec::new(), "a\0b".into(), memmap());
    assert_eq!(
        configure(&mut image, &PvhKernel { entry: ENTRY }),
        Err(PvhBootError::NulInCmdline { offset: 1 })
    );
}

/// With an RSDP copy (the kernel log was the source), the start info points at the
/// copy in its own block, and the dry run says which firmware RSDP it stands for.
#[test]
fn an_rsdp_copy_goes_into_the_block_and_rsdp_paddr_points_at_it() {
    let mut image = DomImage::new(Vec::new(), vec![1; 100], CMDLINE.into(), memmap());
    image.acpi_rsdp_addr = Some(0xfc00_8000);
    let copy = crate::kexec::acpi_copy::AcpiRootCopy {
        oem_id: *b"Xen   ",
        tables: vec![0xfc00_7d60, 0xfc00_7e70],
    };
    image.acpi_rsdp_copy = Some(copy.clone());
    configure(&mut image, &PvhKernel { entry: ENTRY }).unwrap();
    let (base, b) = start_info_block(&image);
    let layout = block_layout(1, 6, CMDLINE.len(), copy.len());
    let rsdp_paddr = le64(b, 32);
    assert_eq!(rsdp_paddr, base + layout.rsdp_at as u64);
    assert_eq!(rsdp_paddr % 16, 0);
    assert_eq!(&b[layout.rsdp_at..], &copy.bytes(rsdp_paddr)[..]);
    assert_eq!(
        le64(b, layout.rsdp_at + 24),
        rsdp_paddr + 48,
        "the XSDT follows"
    );
    let info = image.pvh_start_info.as_ref().unwrap();
    assert_eq!(info.rsdp_paddr.0, rsdp_paddr);
    assert_eq!(info.rsdp_copy_of, Some(Hex(0xfc00_8000)));
    // Without a copy: the firmware's address, and no `rsdp_copy_of`.
    let (image, _) = configured(vec![1; 100]);
    assert_eq!(image.pvh_start_info.unwrap().rsdp_copy_of, None);
}
