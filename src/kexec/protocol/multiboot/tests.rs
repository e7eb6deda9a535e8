use super::*;
use crate::bytes::{le32, le64};
use crate::kexec::build::lay_out;
use crate::kexec::image::{ModuleImage, PAGE_BYTES};
use crate::kexec::loader::multiboot::tests::{ram_1g, xen_like};
use crate::kexec::memmap::{E820_PMEM, E820_RESERVED};

/// Xen (v1 and v2 headers), a 3-page dom0 kernel and a 10-byte ramdisk.
fn xen_image() -> DomImage {
    let mut image = DomImage::new(
        xen_like(true, true),
        Vec::new(),
        "dom0=pvh console=com1".into(),
        ram_1g(),
    );
    image.kernel_name = "/boot/xen.gz".into();
    image.modules = vec![
        ModuleImage {
            bytes: vec![1; 0x2800],
            cmdline: "/boot/vmlinuz root=/dev/vda1".into(),
        },
        ModuleImage {
            bytes: vec![2; 10],
            cmdline: "/boot/initrd.img".into(),
        },
    ];
    image
}

fn c_str_at(bytes: &[u8], offset: usize) -> &str {
    let end = bytes[offset..].iter().position(|&b| b == 0).unwrap();
    std::str::from_utf8(&bytes[offset..offset + end]).unwrap()
}

#[test]
fn memory_limits_count_low_ram_and_contiguous_ram_from_1_mib() {
    assert_eq!(
        memory_limits_kib(&ram_1g()),
        (639, (0x3ffe_0000 - 0x10_0000) / 1024)
    );
    let mut split = ram_1g();
    split[2].end = 0x800_0000;
    split.push(MemRange {
        start: 0x800_0000,
        end: 0x1000_0000,
        e820_type: E820_RAM,
    });
    split.push(MemRange {
        start: 0x2000_0000,
        end: 0x3000_0000,
        e820_type: E820_RAM,
    });
    assert_eq!(
        memory_limits_kib(&split),
        (639, (0x1000_0000 - 0x10_0000) / 1024)
    );
    assert_eq!(
        memory_limits_kib(&split[2..]),
        (0, (0x1000_0000 - 0x10_0000) / 1024)
    );
}

#[test]
fn e820_types_become_multiboot_types() {
    let types: Vec<u32> = [
        E820_RAM,
        E820_RESERVED,
        E820_ACPI,
        E820_NVS,
        E820_UNUSABLE,
        E820_PMEM,
    ]
    .iter()
    .map(|&e820_type| {
        mmap_entry(&MemRange {
            start: 0,
            end: 1,
            e820_type,
        })
        .mb_type
    })
    .collect();
    assert_eq!(types, [1, 2, 3, 4, 5, 2]);
}

#[test]
fn xen_with_multiboot1_gets_modules_and_information_above_1_mib_page_aligned() {
    let mut image = xen_image();
    let handoff = lay_out(&mut image, Some("multiboot-x86")).unwrap();
    let info = image.boot_info.clone().unwrap();
    assert_eq!(
        handoff,
        Handoff::Protected32 {
            eip: 0x20_0000,
            eax: MB1_BOOT_MAGIC,
            ebx: info.info_addr.0 as u32,
            esi: 0
        }
    );
    let mut ranges: Vec<(u64, u64)> = image
        .segments
        .iter()
        .map(|s| (s.mem, s.reserved_end()))
        .collect();
    ranges.sort();
    for pair in ranges.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "overlap: {ranges:x?}");
    }
    for s in &image.segments {
        assert!(
            s.mem >= LOW_LIMIT_BYTES && s.end() <= FOUR_GIB && s.mem % PAGE_BYTES == 0,
            "{s:?}"
        );
    }
    let roles: Vec<SegmentRole> = image.segments.iter().map(|s| s.role).collect();
    assert_eq!(
        roles,
        [
            SegmentRole::Kernel,
            SegmentRole::Module,
            SegmentRole::Module,
            SegmentRole::BootParams
        ]
    );
    assert_eq!(info.modules[0].start.0, image.segments[1].mem);
    assert_eq!(info.modules[0].end.0 - info.modules[0].start.0, 0x2800);
    assert_eq!(info.modules[1].end.0 - info.modules[1].start.0, 10);
    assert_eq!(info.cmdline, "/boot/xen.gz dom0=pvh console=com1");
}

#[test]
fn the_multiboot1_information_is_written_field_by_field() {
    let mut image = xen_image();
    lay_out(&mut image, Some("multiboot-x86")).unwrap();
    let info = image.boot_info.clone().unwrap();
    let base = info.info_addr.0 as usize;
    let mbi = image.bytes(&image.segments[3].data).to_vec();
    let at = |addr: u32| addr as usize - base;
    assert_eq!(
        le32(&mbi, 0),
        MBI_MEMORY | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME
    );
    assert_eq!(
        (le32(&mbi, 4), le32(&mbi, 8)),
        (639, (0x3ffe_0000 - 0x10_0000) / 1024)
    );
    assert_eq!(
        c_str_at(&mbi, at(le32(&mbi, 16))),
        "/boot/xen.gz dom0=pvh console=com1"
    );
    assert_eq!(c_str_at(&mbi, at(le32(&mbi, 64))), "kboot");
    assert_eq!(le32(&mbi, 20), 2, "mods_count");
    let mods = at(le32(&mbi, 24));
    let module = |i: usize| {
        let m = mods + 16 * i;
        (
            le32(&mbi, m),
            le32(&mbi, m + 4),
            c_str_at(&mbi, at(le32(&mbi, m + 8))).to_string(),
        )
    };
    let (start, end, cmdline) = module(0);
    assert_eq!(
        (u64::from(start), end - start),
        (image.segments[1].mem, 0x2800)
    );
    assert_eq!(cmdline, "/boot/vmlinuz root=/dev/vda1");
    assert_eq!(module(1).2, "/boot/initrd.img");
    assert_eq!(le32(&mbi, 44), 3 * 24, "mmap_length");
    let mmap = at(le32(&mbi, 48));
    let entry = |i: usize| {
        let e = mmap + 24 * i;
        (
            le32(&mbi, e),
            le64(&mbi, e + 4),
            le64(&mbi, e + 12),
            le32(&mbi, e + 20),
        )
    };
    assert_eq!(entry(0), (20, 0, 0x9_fc00, 1));
    assert_eq!(entry(1), (20, 0xf_0000, 0x1_0000, 2));
    assert_eq!(entry(2), (20, 0x10_0000, 0x3ffe_0000 - 0x10_0000, 1));
}

#[test]
fn the_multiboot2_information_has_its_tags_8_aligned() {
    let mut image = xen_image();
    let handoff = lay_out(&mut image, None).unwrap();
    let info = image.boot_info.clone().unwrap();
    let Handoff::Protected32 { eax, ebx, .. } = handoff else {
        panic!("not 32-bit")
    };
    assert_eq!((eax, u64::from(ebx)), (MB2_BOOT_MAGIC, info.info_addr.0));
    let mbi = image.bytes(&image.segments[3].data).to_vec();
    assert_eq!(le32(&mbi, 0) as usize, mbi.len(), "total_size");
    let mut tags = Vec::new();
    let mut at = 8;
    loop {
        assert_eq!(at % 8, 0);
        let (tag_type, size) = (le32(&mbi, at), le32(&mbi, at + 4) as usize);
        tags.push((tag_type, at));
        if tag_type == 0 {
            assert_eq!(size, 8);
            break;
        }
        at = (at + size).next_multiple_of(8);
    }
    let types: Vec<u32> = tags.iter().map(|t| t.0).collect();
    assert_eq!(types, [1, 2, 3, 3, 4, 6, 0]);
    assert_eq!(
        c_str_at(&mbi, tags[0].1 + 8),
        "/boot/xen.gz dom0=pvh console=com1"
    );
    assert_eq!(c_str_at(&mbi, tags[1].1 + 8), "kboot");
    let module = tags[2].1;
    assert_eq!(u64::from(le32(&mbi, module + 8)), image.segments[1].mem);
    assert_eq!(le32(&mbi, module + 12) - le32(&mbi, module + 8), 0x2800);
    assert_eq!(c_str_at(&mbi, module + 16), "/boot/vmlinuz root=/dev/vda1");
    let meminfo = tags[4].1;
    assert_eq!(
        (le32(&mbi, meminfo + 8), le32(&mbi, meminfo + 12)),
        (639, info.mem_upper_kib)
    );
    let mmap = tags[5].1;
    assert_eq!(le32(&mbi, mmap + 4), 16 + 3 * 24);
    assert_eq!((le32(&mbi, mmap + 8), le32(&mbi, mmap + 12)), (24, 0));
    assert_eq!(
        (
            le64(&mbi, mmap + 16 + 24),
            le64(&mbi, mmap + 24 + 24),
            le32(&mbi, mmap + 32 + 24)
        ),
        (0xf_0000, 0x1_0000, 2)
    );
}

#[test]
fn without_modules_or_command_line_the_information_is_still_built() {
    let mut image = xen_image();
    image.modules.clear();
    image.cmdline.clear();
    lay_out(&mut image, Some("multiboot-x86")).unwrap();
    let info = image.boot_info.unwrap();
    assert!(info.modules.is_empty());
    assert_eq!(info.cmdline, "/boot/xen.gz");
}

#[test]
fn modules_that_do_not_fit_below_4_gib_are_refused() {
    let mut image = xen_image();
    image.memmap = vec![MemRange {
        start: 0x10_0000,
        end: 0x60_0000,
        e820_type: E820_RAM,
    }];
    image.modules[0].bytes = vec![0; 0x50_0000];
    assert!(matches!(
        lay_out(&mut image, None),
        Err(crate::kexec::build::BuildError::Protocol(
            super::super::ProtocolError::Multiboot(MultibootBootError::Layout(
                ImageError::NoRoom {
                    role: SegmentRole::Module,
                    ..
                }
            ))
        ))
    ));
}

/// Xen hangs in its real-mode BIOS calls after a kexec: an image that knows the
/// `no-real-mode` option gets it appended once; one that does not know it, or whose
/// command line has it already, keeps its command line as given; what was added is
/// reported for the boot log.
#[test]
fn a_kernel_that_knows_no_real_mode_gets_it_once() {
    let with_option = |cmdline: &str| {
        let mut image = xen_image();
        // Somewhere in the loaded text, as in Xen's early command-line parser.
        image.kernel[0x400..0x40c].copy_from_slice(b"no-real-mode");
        image.cmdline = cmdline.into();
        lay_out(&mut image, Some("multiboot2-x86")).unwrap();
        let info = image.boot_info.unwrap();
        (info.cmdline, info.cmdline_added)
    };
    assert_eq!(
        with_option("placeholder dom0=pvh"),
        (
            "/boot/xen.gz placeholder dom0=pvh no-real-mode".to_string(),
            vec!["no-real-mode"]
        )
    );
    assert_eq!(
        with_option(""),
        (
            "/boot/xen.gz no-real-mode".to_string(),
            vec!["no-real-mode"]
        )
    );
    assert_eq!(
        with_option("no-real-mode  console=com1"),
        (
            "/boot/xen.gz no-real-mode  console=com1".to_string(),
            vec![]
        )
    );
    let mut image = xen_image();
    lay_out(&mut image, Some("multiboot2-x86")).unwrap();
    let info = image.boot_info.unwrap();
    assert_eq!(info.cmdline, "/boot/xen.gz dom0=pvh console=com1");
    assert!(info.cmdline_added.is_empty());
}
