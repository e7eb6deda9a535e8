use super::header::{
    CMDLINE_SIZE, INITRD_ADDR_MAX, INIT_SIZE, KERNEL_ALIGNMENT, PAYLOAD_LENGTH, PAYLOAD_OFFSET,
    PREF_ADDRESS, RELOCATABLE_KERNEL,
};
use super::*;
use crate::bytes::{le32, put_le16, put_le32, put_le64};
use crate::kexec::arch::x86_64::purgatory;
use crate::kexec::arch::x86_64::zero_page as zp;
use crate::kexec::build::{build, BuildError};
use crate::kexec::image::FOUR_GIB;
use crate::kexec::image::{DomImage, EntryMode, EntryRegs};
use crate::kexec::image::{Segment, MAX_SEGMENTS};
use crate::kexec::memmap::{MemRange, E820_ACPI, E820_RAM, E820_RESERVED};
use crate::kexec::protocol::linux::LinuxBootError;
use crate::kexec::protocol::ProtocolError;

const SETUP_SECTS: u8 = 3;
const KERNEL_OFFSET: usize = (SETUP_SECTS as usize + 1) * 512;
const PAYLOAD_BYTES: usize = 0x3000;
const INIT_SIZE_BYTES: u32 = 0x2_0100;
const PREF: u64 = 0x100_0000;
const ALIGN: u32 = 0x20_0000;
/// Header length past 0x202, as the jump at 0x200 encodes it (Debian 6.1: 0x6a).
const JUMP_LEN: u8 = 0x6a;

/// A bzImage as the Debian 6.1 kernel's header describes itself (protocol 2.15,
/// relocatable, 2 MiB alignment, 16 MiB preferred address), with a small payload.
fn bzimage(xloadflags: u16) -> Vec<u8> {
    let mut k = vec![0u8; KERNEL_OFFSET + PAYLOAD_BYTES];
    k[0x1f1] = SETUP_SECTS;
    put_le32(&mut k, 0x1f4, (PAYLOAD_BYTES / 16) as u32);
    put_le16(&mut k, 0x1fe, 0xaa55u16);
    k[0x200] = 0xeb;
    k[0x201] = JUMP_LEN;
    k[0x202..0x206].copy_from_slice(b"HdrS");
    put_le16(&mut k, 0x206, 0x020fu16);
    k[0x211] = 0x01;
    put_le32(&mut k, 0x214, 0x10_0000u32);
    put_le32(&mut k, INITRD_ADDR_MAX, 0x7fff_ffffu32);
    put_le32(&mut k, KERNEL_ALIGNMENT, ALIGN);
    k[RELOCATABLE_KERNEL] = 1;
    k[0x235] = 0x15;
    put_le16(&mut k, 0x236, xloadflags);
    put_le32(&mut k, CMDLINE_SIZE, 0x7ffu32);
    put_le64(&mut k, PREF_ADDRESS, PREF);
    put_le32(&mut k, INIT_SIZE, INIT_SIZE_BYTES);
    // A recognisable byte just past the header: must not reach the zero page.
    k[0x202 + JUMP_LEN as usize] = 0x5a;
    for (i, b) in k[KERNEL_OFFSET..].iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    k
}

fn range(start: u64, end: u64, e820_type: u32) -> MemRange {
    MemRange {
        start,
        end,
        e820_type,
    }
}

/// `/sys/firmware/memmap` of the e2e guest (`qemu-system-x86_64 -m 1024`, SeaBIOS).
fn qemu_1g() -> Vec<MemRange> {
    vec![
        range(0, 0x9_fc00, E820_RAM),
        range(0x9_fc00, 0xa_0000, E820_RESERVED),
        range(0xf_0000, 0x10_0000, E820_RESERVED),
        range(0x10_0000, 0x3ffd_d000, E820_RAM),
        range(0x3ffd_d000, 0x4000_0000, E820_RESERVED),
        range(0xfffc_0000, 0x1_0000_0000, E820_RESERVED),
    ]
}

const CMDLINE: &str = "console=ttyS0 root=UUID=4b424f4f-0002-4000-8000-000000000001";

fn lay_out(kernel: Vec<u8>, ramdisk_bytes: usize, memmap: Vec<MemRange>) -> DomImage {
    let mut image = DomImage::new(kernel, vec![0xab; ramdisk_bytes], CMDLINE.into(), memmap);
    build(&mut image).unwrap();
    image
}

fn seg(image: &DomImage, role: SegmentRole) -> &Segment {
    image.segment(role).unwrap()
}

fn zero_page(image: &DomImage) -> &[u8] {
    image.bytes(&seg(image, SegmentRole::BootParams).data)
}

#[test]
fn qemu_1g_layout_and_zero_page_field_by_field() {
    let kernel = bzimage(0x7f);
    let image = lay_out(kernel.clone(), 0x1_2345, qemu_1g());
    assert_eq!(image.loader, Some("bzImage"));

    let k = seg(&image, SegmentRole::Kernel);
    assert_eq!(k.mem, PREF);
    assert_eq!(k.reserved, 0x2_1000, "ALIGN(init_size, 4K)");
    assert_eq!(
        k.memsz,
        ((kernel.len() - KERNEL_OFFSET) as u64).next_multiple_of(0x1000),
        "only the payload is loaded"
    );
    assert_eq!(image.bytes(&k.data), &kernel[KERNEL_OFFSET..]);

    let r = seg(&image, SegmentRole::Ramdisk);
    assert_eq!(r.memsz, 0x1_3000);
    assert_eq!(r.end(), 0x3ffd_d000, "top of RAM");

    let p = seg(&image, SegmentRole::BootParams);
    assert_eq!(p.mem, 0x10_0000);
    assert_eq!(p.memsz, 0x2000);
    let g = seg(&image, SegmentRole::Purgatory);
    assert_eq!(g.mem, 0x10_2000);
    assert_eq!(g.memsz, 0x2000);

    assert_eq!(image.entry, g.mem + purgatory::entry_offset());
    assert_eq!(image.regs.rip, PREF + 0x200);
    assert_eq!(image.regs.rsi, p.mem);
    assert_eq!(image.regs.rsp, g.end());
    let code = image.bytes(&g.data);
    assert_eq!(
        &code[purgatory::PARAM_RIP..][..8],
        &(PREF + 0x200).to_le_bytes()
    );
    assert_eq!(&code[purgatory::PARAM_RSI..][..8], &p.mem.to_le_bytes());
    assert_eq!(&code[purgatory::PARAM_RSP..][..8], &g.end().to_le_bytes());
    assert_eq!(
        &code[purgatory::PARAM_REGION_COUNT..][..8],
        &3u64.to_le_bytes()
    );
    let expected = purgatory::check_for([
        (k.mem, image.bytes(&k.data)),
        (r.mem, image.bytes(&r.data)),
        (p.mem, image.bytes(&p.data)),
    ]);
    assert_eq!(expected.regions[0].len, PAYLOAD_BYTES as u64);
    assert_eq!(expected.regions[1].len, 0x1_2345);
    let regs = EntryRegs {
        rip: image.regs.rip,
        rsi: p.mem,
        rsp: g.end(),
        ..EntryRegs::default()
    };
    let patched = purgatory::patched(&regs, &expected).unwrap();
    assert_eq!(code, &patched[..]);

    let zp = zero_page(&image);
    let header_end = 0x202 + JUMP_LEN as usize;
    assert_eq!(
        &zp[zp::SETUP_HEADER..0x210],
        &kernel[zp::SETUP_HEADER..0x210]
    );
    assert_eq!(zp[zp::TYPE_OF_LOADER], 0xff);
    assert_eq!(zp[zp::LOADFLAGS], 0x01);
    // Copied as they are, around the fields a loader writes (ramdisk, cmd_line_ptr).
    for copied in [0x212..0x218, 0x220..0x228, 0x22c..header_end] {
        assert_eq!(&zp[copied.clone()], &kernel[copied]);
    }
    assert_eq!(zp[header_end], 0, "nothing copied past the header");
    assert_eq!(zp[zp::SENTINEL], 0);
    assert_eq!(le32(zp, zp::RAMDISK_IMAGE) as u64, r.mem);
    assert_eq!(le32(zp, zp::RAMDISK_SIZE), 0x1_2345);
    assert_eq!(le32(zp, 0x0c0), 0, "ext_ramdisk_image");
    assert_eq!(le32(zp, zp::CMD_LINE_PTR) as u64, p.mem + 0x1000);
    assert_eq!(le32(zp, 0x0c8), 0, "ext_cmd_line_ptr");
    assert_eq!(le32(zp, zp::HARDWARE_SUBARCH), 0);
    assert_eq!(le32(zp, zp::ACPI_RSDP_ADDR), 0, "BIOS: the kernel scans");
    assert_eq!(&zp[0x1000..0x1000 + CMDLINE.len()], CMDLINE.as_bytes());
    assert_eq!(zp[0x1000 + CMDLINE.len()], 0);
    assert_eq!(zp::e820_count(zp), 6);
    assert_eq!(zp::e820_entry(zp, 0), Some((0, 0x9_fc00, E820_RAM)));
    assert_eq!(
        zp::e820_entry(zp, 3),
        Some((0x10_0000, 0x3fed_d000, E820_RAM))
    );
    assert_eq!(
        zp::e820_entry(zp, 5),
        Some((0xfffc_0000, 0x4_0000, E820_RESERVED))
    );
    assert_eq!(zp::e820_entry(zp, 6), Some((0, 0, 0)));
}

/// A bzImage whose payload is `vmlinux` packed as kbuild does for `CONFIG_KERNEL_LZ4`
/// (LZ4 legacy blocks, then the unpacked size); also the payload's offset in the file.
pub(in crate::kexec::loader) fn bzimage_carrying(vmlinux: &[u8]) -> (Vec<u8>, usize) {
    let mut payload = vec![0x02, 0x21, 0x4c, 0x18]; // the LZ4 legacy magic
    for block in vmlinux.chunks(0x1000) {
        let packed = lz4_flex::block::compress(block);
        payload.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        payload.extend_from_slice(&packed);
    }
    // kbuild's size_append
    payload.extend_from_slice(&(vmlinux.len() as u32).to_le_bytes());
    let mut kernel = bzimage(0x7f);
    let payload_offset = kernel.len() - KERNEL_OFFSET;
    kernel.extend_from_slice(&payload);
    let syssize = ((kernel.len() - KERNEL_OFFSET) / 16 + 1) as u32;
    kernel.resize(KERNEL_OFFSET + syssize as usize * 16, 0);
    put_le32(&mut kernel, 0x1f4, syssize);
    kernel[PAYLOAD_OFFSET..PAYLOAD_OFFSET + 4]
        .copy_from_slice(&(payload_offset as u32).to_le_bytes());
    kernel[PAYLOAD_LENGTH..PAYLOAD_LENGTH + 4]
        .copy_from_slice(&(payload.len() as u32).to_le_bytes());
    (kernel, KERNEL_OFFSET + payload_offset)
}

#[test]
fn describe_reads_the_xen_notes_of_an_lz4_payload() {
    let (mut kernel, at) = bzimage_carrying(&crate::kexec::loader::elf::tests::vmlinux(62));
    let Parsed::BzImage(info) = BzImageLoader.describe(&kernel).unwrap() else {
        panic!("not a bzImage description");
    };
    let payload = info.payload.unwrap();
    assert_eq!(
        payload.compression,
        PayloadFormat::Compressed(Compression::Lz4Legacy)
    );
    assert_eq!(payload.compression.name(), "lz4");
    let elf = payload.vmlinux.unwrap();
    assert!(elf.xen_pvh && elf.xen_pv);
    assert_eq!(elf.xen.phys32_entry, Some(0x100_0010));

    // A payload kboot cannot unpack is named, with no vmlinux.
    kernel[at..at + 6].copy_from_slice(&[0xfd, b'7', b'z', b'X', b'Z', 0]);
    let Parsed::BzImage(info) = BzImageLoader.describe(&kernel).unwrap() else {
        panic!("not a bzImage description");
    };
    assert_eq!(info.payload.unwrap().compression.name(), "xz");
}

#[test]
fn a_uefi_rsdp_reaches_the_zero_page() {
    let mut image = DomImage::new(bzimage(0x7f), vec![], CMDLINE.into(), qemu_1g());
    image.acpi_rsdp_addr = Some(0x1_7fb7_e014);
    build(&mut image).unwrap();
    let zp = zero_page(&image);
    assert_eq!(
        &zp[zp::ACPI_RSDP_ADDR..][..8],
        &0x1_7fb7_e014u64.to_le_bytes()
    );
}

#[test]
fn segments_are_page_aligned_disjoint_and_in_ram() {
    let image = lay_out(bzimage(0x7f), 0x40_0001, qemu_1g());
    assert!(image.segments.len() <= MAX_SEGMENTS);
    for s in &image.segments {
        assert_eq!(s.mem % PAGE_BYTES, 0, "{s:?}");
        assert_eq!(s.memsz % PAGE_BYTES, 0, "{s:?}");
        assert!(image.data_len(&s.data) <= s.memsz, "{s:?}");
        assert!(
            image
                .memmap
                .iter()
                .any(|m| m.is_ram() && m.start <= s.mem && s.reserved_end() <= m.end),
            "{s:?} outside RAM"
        );
        assert!(s.memsz <= s.reserved, "{s:?}");
        for t in &image.segments {
            assert!(std::ptr::eq(s, t) || s.reserved_end() <= t.mem || t.reserved_end() <= s.mem);
        }
    }
}

#[test]
fn reserved_hole_at_the_preferred_address_moves_the_kernel_to_the_next_alignment() {
    let map = vec![
        range(0x10_0000, 0x100_0000, E820_RAM),
        range(0x100_0000, 0x110_0000, E820_ACPI),
        range(0x110_0000, 0x800_0000, E820_RAM),
    ];
    let image = lay_out(bzimage(0x7f), 0x1000, map);
    assert_eq!(seg(&image, SegmentRole::Kernel).mem, 0x120_0000);
    assert_eq!(image.regs.rip, 0x120_0200);
    let zp = zero_page(&image);
    assert_eq!(
        zp::e820_entry(zp, 1),
        Some((0x100_0000, 0x10_0000, E820_ACPI))
    );
}

#[test]
fn ramdisk_stays_below_initrd_addr_max_unless_the_kernel_takes_it_above_4g() {
    let map = vec![
        range(0x10_0000, 0xc000_0000, E820_RAM),
        range(0x1_0000_0000, 0x2_0000_0000, E820_RAM),
    ];
    let below = lay_out(bzimage(0x01), 0x1000, map.clone());
    let r = seg(&below, SegmentRole::Ramdisk);
    assert_eq!(r.end(), 0x8000_0000, "initrd_addr_max 0x7fffffff");
    assert_eq!(le32(zero_page(&below), 0x0c0), 0);

    let above = lay_out(bzimage(0x03), 0x1000, map);
    let r = seg(&above, SegmentRole::Ramdisk);
    assert_eq!(r.mem, 0x1_ffff_f000);
    let zp = zero_page(&above);
    assert_eq!(le32(zp, zp::RAMDISK_IMAGE), 0xffff_f000);
    assert_eq!(le32(zp, 0x0c0), 1, "ext_ramdisk_image");
    let boot_params = seg(&above, SegmentRole::BootParams);
    assert!(boot_params.end() <= FOUR_GIB);
}

#[test]
fn entry_32bit_enters_startup_32_with_every_segment_below_4g() {
    // RAM above 4 GiB and a kernel that takes its ramdisk there: the 32-bit entry keeps
    // it below.
    let map = vec![
        range(0x10_0000, 0xc000_0000, E820_RAM),
        range(0x1_0000_0000, 0x2_0000_0000, E820_RAM),
    ];
    let mut image = DomImage::new(bzimage(0x03), vec![0xab; 0x1000], CMDLINE.into(), map);
    image.entry_32bit = true;
    build(&mut image).unwrap();
    let k = seg(&image, SegmentRole::Kernel);
    let p = seg(&image, SegmentRole::BootParams);
    let g = seg(&image, SegmentRole::Purgatory);
    for s in &image.segments {
        assert!(s.reserved_end() <= FOUR_GIB, "{s:?}");
    }
    assert_eq!(seg(&image, SegmentRole::Ramdisk).end(), 0xc000_0000);
    assert_eq!(
        image.regs,
        EntryRegs {
            mode: EntryMode::Protected32,
            rip: k.mem,
            rsi: p.mem,
            rsp: g.end(),
            eax: 0,
            ebx: 0,
        },
        "eip = startup_32 (the load address), esi = zero page"
    );
    let code = image.bytes(&g.data);
    assert_eq!(
        &code[purgatory::PARAM_EXIT..][..8],
        &purgatory::EXIT_PROTECTED32.to_le_bytes()
    );
    assert_eq!(&code[purgatory::PARAM_RIP..][..8], &PREF.to_le_bytes());
    let plan = serde_json::to_value(image.plan()).unwrap();
    assert_eq!(
        plan["regs"],
        serde_json::json!({
            "mode": "protected32",
            "eip": format!("{PREF:#x}"),
            "eax": "0x0",
            "ebx": "0x0",
            "esi": format!("{:#x}", p.mem),
            "esp": format!("{:#x}", g.end()),
        })
    );
}

#[test]
fn small_ram_names_the_segment_that_does_not_fit() {
    let map = vec![range(0x10_0000, 0x101_0000, E820_RAM)];
    let mut image = DomImage::new(bzimage(0x7f), vec![], CMDLINE.into(), map);
    let err = build(&mut image).unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::Loader(LoaderError::BzImage(BzImageLoadError::Layout(
                ImageError::NoRoom {
                    role: SegmentRole::Kernel,
                    size: 0x2_1000,
                    ..
                }
            )))
        ),
        "{err:?}"
    );
}

#[test]
fn no_ramdisk_means_no_ramdisk_segment_and_zero_fields() {
    let image = lay_out(bzimage(0x7f), 0, qemu_1g());
    assert!(image.segment(SegmentRole::Ramdisk).is_none());
    assert_eq!(image.segments.len(), 3);
    let zp = zero_page(&image);
    assert_eq!(le32(zp, zp::RAMDISK_IMAGE), 0);
    assert_eq!(le32(zp, zp::RAMDISK_SIZE), 0);
}

#[test]
fn a_fixed_kernel_goes_exactly_at_its_preferred_address_or_nowhere() {
    let mut kernel = bzimage(0x7f);
    kernel[RELOCATABLE_KERNEL] = 0;
    let image = lay_out(kernel.clone(), 0, qemu_1g());
    assert_eq!(seg(&image, SegmentRole::Kernel).mem, PREF);
    let map = vec![
        range(0x10_0000, 0x100_8000, E820_RAM),
        range(0x100_8000, 0x4000_0000, E820_RAM | 0x10),
    ];
    let mut image = DomImage::new(kernel, vec![], CMDLINE.into(), map);
    assert!(build(&mut image).is_err());
}

#[test]
fn each_bad_header_byte_has_its_error() {
    let too_long = "x".repeat(0x800);
    let mut image = DomImage::new(bzimage(0x7f), vec![], too_long, qemu_1g());
    let err = build(&mut image).unwrap_err();
    assert!(matches!(
        err,
        BuildError::Protocol(ProtocolError::Linux(LinuxBootError::CmdlineTooLong {
            len: 0x800,
            max: 0x7ff
        }))
    ));

    let mut kernel = bzimage(0x7f);
    kernel[KERNEL_ALIGNMENT] = 3;
    assert!(matches!(
        parse(&kernel).and_then(|_| layout(&kernel, &qemu_1g())),
        Err(BzImageLoadError::BadAlignment(_))
    ));

    let mut kernel = bzimage(0x7f);
    kernel.truncate(kernel.len() - 1);
    assert!(matches!(
        parse(&kernel),
        Err(BzImageLoadError::Header(BzImageError::Truncated { .. }))
    ));

    let mut elf = vec![0u8; 4096];
    elf[..4].copy_from_slice(b"\x7fELF");
    let mut image = DomImage::new(elf, vec![], String::new(), qemu_1g());
    assert!(matches!(
        build(&mut image),
        Err(BuildError::Loader(LoaderError::Unrecognised { .. }))
    ));
}

#[test]
fn the_loader_places_only_the_kernel_and_hands_the_protocol_its_header() {
    let kernel = bzimage(0x01);
    let layout = BzImageLoader.layout(&kernel, &qemu_1g()).unwrap();
    let roles: Vec<SegmentRole> = layout.segments.iter().map(|s| s.role).collect();
    assert_eq!(
        roles,
        [SegmentRole::Kernel],
        "no boot parameters, no purgatory"
    );
    let KernelBoot::Linux(boot) = &layout.boot else {
        panic!("not the Linux boot protocol");
    };
    assert_eq!(boot.entry_64, PREF + ENTRY_64_OFFSET);
    assert_eq!(boot.setup_header, &kernel[..header::HEADER_BYTES]);
    assert_eq!(boot.cmdline_max_bytes, Some(0x7ff));
    assert_eq!(boot.ramdisk_max_end, 0x8000_0000, "initrd_addr_max + 1");
    let Parsed::BzImage(info) = &layout.parsed else {
        panic!("not a bzImage description");
    };
    assert_eq!(info.header, parse(&kernel).unwrap());
    assert_eq!(info.payload, None);
}

#[test]
fn a_bzimage_cut_inside_its_boot_header_is_reported_as_truncated() {
    for cut in [512, 0x206, 0x237] {
        let mut kernel = bzimage(0x7f);
        kernel.truncate(cut);
        let err = crate::kexec::loader::describe(&kernel).unwrap_err();
        assert!(
            matches!(
                err,
                LoaderError::BzImage(BzImageLoadError::Header(BzImageError::TooShort { len }))
                    if len == cut as u64
            ),
            "{cut}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("truncated")
                && message.contains(&format!("only {cut} bytes"))
                && message.contains("takes 568"),
            "{message}"
        );
    }
    // A short file without the boot sector's 0xAA55 is no bzImage at all.
    let err = crate::kexec::loader::describe(&[0u8; 512]).unwrap_err();
    assert!(matches!(err, LoaderError::Unrecognised { .. }), "{err:?}");
}
