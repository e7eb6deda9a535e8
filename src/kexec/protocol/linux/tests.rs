use super::*;
use crate::bytes::le32;
use crate::kexec::arch::x86_64::zero_page as zp;
use crate::kexec::loader::elf::synthetic_header;
use crate::kexec::memmap::{MemRange, E820_RAM};

fn ram_1g() -> Vec<MemRange> {
    vec![MemRange {
        start: 0x10_0000,
        end: 0x4000_0000,
        e820_type: E820_RAM,
    }]
}

fn kernel(cmdline_max_bytes: Option<u32>) -> LinuxKernel {
    LinuxKernel {
        entry_64: 0x100_0200,
        entry_32: Some(0x100_0000),
        setup_header: synthetic_header(),
        cmdline_max_bytes,
        ramdisk_max_end: 0x8000_0000,
    }
}

#[test]
fn configure_places_ramdisk_and_zero_page_and_hands_over_the_entry() {
    let mut image = DomImage::new(vec![], vec![5; 0x1234], "quiet".into(), ram_1g());
    let handoff = configure(&mut image, &kernel(Some(0x7ff))).unwrap();
    let roles: Vec<SegmentRole> = image.segments.iter().map(|s| s.role).collect();
    assert_eq!(roles, [SegmentRole::Ramdisk, SegmentRole::BootParams]);
    let ramdisk = &image.segments[0];
    assert_eq!(ramdisk.end(), 0x4000_0000, "top of RAM");
    let params = &image.segments[1];
    assert_eq!(params.mem, 0x10_0000);
    assert_eq!(
        handoff,
        Handoff::Long64 {
            rip: 0x100_0200,
            rsi: params.mem
        }
    );
    let page = image.bytes(&params.data);
    assert_eq!(le32(page, zp::RAMDISK_IMAGE) as u64, ramdisk.mem);
    assert_eq!(le32(page, zp::RAMDISK_SIZE), 0x1234);
    assert_eq!(le32(page, zp::CMD_LINE_PTR) as u64, params.mem + 0x1000);
    assert_eq!(&page[0x1000..], b"quiet\0");
}

#[test]
fn the_command_line_limit_is_the_kernels_and_only_when_it_gives_one() {
    let too_long = "x".repeat(0x800);
    let mut image = DomImage::new(vec![], vec![], too_long.clone(), ram_1g());
    assert_eq!(
        configure(&mut image, &kernel(Some(0x7ff))),
        Err(LinuxBootError::CmdlineTooLong {
            len: 0x800,
            max: 0x7ff
        })
    );
    assert!(image.segments.is_empty(), "refused before placing anything");
    let mut image = DomImage::new(vec![], vec![], too_long, ram_1g());
    assert!(configure(&mut image, &kernel(None)).is_ok());
}

#[test]
fn the_32bit_entry_hands_over_startup_32_and_the_zero_page_in_esi() {
    let mut image = DomImage::new(vec![], vec![5; 0x1234], "quiet".into(), ram_1g());
    image.entry_32bit = true;
    let handoff = configure(&mut image, &kernel(None)).unwrap();
    let params = image.segment(SegmentRole::BootParams).unwrap();
    assert_eq!(
        handoff,
        Handoff::Protected32 {
            eip: 0x100_0000,
            eax: 0,
            ebx: 0,
            esi: params.mem as u32
        }
    );
}

#[test]
fn the_32bit_entry_is_refused_without_one_or_above_4g() {
    let mut image = DomImage::new(vec![], vec![], "quiet".into(), ram_1g());
    image.entry_32bit = true;
    let vmlinux = LinuxKernel {
        entry_32: None,
        ..kernel(None)
    };
    assert_eq!(
        configure(&mut image, &vmlinux),
        Err(LinuxBootError::No32BitEntry)
    );
    let high = LinuxKernel {
        entry_32: Some(0x1_0000_0000),
        ..kernel(None)
    };
    assert_eq!(
        configure(&mut image, &high),
        Err(LinuxBootError::Entry32Above4G {
            entry: 0x1_0000_0000
        })
    );
    assert!(image.segments.is_empty(), "refused before placing anything");
}
