use super::header::tests::{mb1_header, mb2_header, XEN_MB2_TAGS};
use super::header::MB1_AOUT_KLUDGE;
use super::*;
use crate::bytes::{put_le16, put_le32};
use crate::kexec::image::{SegmentData, SegmentRole};
use crate::kexec::loader::{choose, probe, LOADERS};
use crate::kexec::memmap::{MemRange, E820_RAM, E820_RESERVED};

/// An i386 ELF32 laid out as Xen's: one PT_LOAD at file offset 0x80, physical
/// 0x200000, 0x1000 bytes of file and 0x3000 in memory; the multiboot 1 header at 0x88
/// and the multiboot 2 one at 0x98 as chosen.
pub(in crate::kexec) fn xen_like(mb1: bool, mb2: bool) -> Vec<u8> {
    let mut f = vec![0u8; 0x1080];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 1; // ELFCLASS32
    f[5] = 1;
    f[6] = 1;
    put_le16(&mut f, 16, 2); // ET_EXEC
    put_le16(&mut f, 18, EM_386);
    put_le32(&mut f, 20, 1);
    put_le32(&mut f, 24, 0x20_0000); // e_entry
    put_le32(&mut f, 28, 52); // e_phoff
    put_le16(&mut f, 40, 52);
    put_le16(&mut f, 42, 32);
    put_le16(&mut f, 44, 1);
    for (at, value) in [
        (0, 1),
        (4, 0x80),
        (8, 0x20_0000),
        (12, 0x20_0000),
        (16, 0x1000),
        (20, 0x3000),
        (24, 7),
    ] {
        put_le32(&mut f, 52 + at, value);
    }
    f[0x80..0x88].fill(0x90);
    if mb1 {
        let h = mb1_header(3, None);
        f[0x88..0x88 + h.len()].copy_from_slice(&h);
    }
    if mb2 {
        let h = mb2_header(XEN_MB2_TAGS);
        f[0x98..0x98 + h.len()].copy_from_slice(&h);
    }
    f
}

pub(in crate::kexec) fn ram_1g() -> Vec<MemRange> {
    vec![
        MemRange {
            start: 0,
            end: 0x9_fc00,
            e820_type: E820_RAM,
        },
        MemRange {
            start: 0xf_0000,
            end: 0x10_0000,
            e820_type: E820_RESERVED,
        },
        MemRange {
            start: 0x10_0000,
            end: 0x3ffe_0000,
            e820_type: E820_RAM,
        },
    ]
}

fn multiboot_layout(
    kernel: &[u8],
    version: MultibootVersion,
) -> Result<KernelLayout, MultibootLoadError> {
    layout(kernel, &ram_1g(), version)
}

#[test]
fn probing_prefers_multiboot2_then_multiboot1_before_the_elf_loaders() {
    assert_eq!(
        probe(&xen_like(true, true)).unwrap().name(),
        "multiboot2-x86"
    );
    assert_eq!(
        probe(&xen_like(true, false)).unwrap().name(),
        "multiboot-x86"
    );
    assert_eq!(
        probe(&xen_like(false, true)).unwrap().name(),
        "multiboot2-x86"
    );
    let names: Vec<&str> = LOADERS.iter().map(|l| l.name()).collect();
    assert_eq!(names, ["bzImage", "multiboot2-x86", "multiboot-x86", "ELF"]);
}

#[test]
fn a_multiboot2_header_kboot_cannot_honour_leaves_the_image_to_multiboot1() {
    let mut f = xen_like(true, false);
    let h = mb2_header(&[(9, 0, &[0x1000])]);
    f[0x98..0x98 + h.len()].copy_from_slice(&h);
    assert_eq!(probe(&f).unwrap().name(), "multiboot-x86");
    // Alone, it is named.
    let mut f = xen_like(false, false);
    f[0x98..0x98 + h.len()].copy_from_slice(&h);
    assert_eq!(probe(&f).unwrap().name(), "multiboot2-x86");
    assert!(matches!(
        multiboot_layout(&f, MultibootVersion::V2),
        Err(MultibootLoadError::Header(HeaderError::Mb2NeedsEfi {
            tag_type: 9
        }))
    ));
}

#[test]
fn a_forced_type_still_checks_the_image() {
    let f = xen_like(true, true);
    assert_eq!(
        choose(&f, Some("multiboot-x86")).unwrap().name(),
        "multiboot-x86"
    );
    assert!(matches!(
        choose(&xen_like(false, true), Some("multiboot-x86")),
        Err(LoaderError::NotOfType { .. })
    ));
    assert!(matches!(
        choose(&f, Some("bzImage64")),
        Err(LoaderError::NotOfType { .. })
    ));
    let Err(err) = choose(&f, Some("xen")) else {
        panic!("an unknown type was taken")
    };
    assert!(
        err.to_string().contains("multiboot2-x86, multiboot-x86"),
        "{err}"
    );
}

#[test]
fn an_elf32_pt_load_goes_at_its_physical_address_with_its_memsz_zero_filled() {
    let f = xen_like(true, true);
    for version in [MultibootVersion::V1, MultibootVersion::V2] {
        let layout = multiboot_layout(&f, version).unwrap();
        assert_eq!(layout.segments.len(), 1);
        let s = &layout.segments[0];
        assert_eq!(
            (s.role, s.mem, s.memsz),
            (SegmentRole::Kernel, 0x20_0000, 0x3000)
        );
        assert_eq!(s.data, SegmentData::Kernel(0x80..0x1080));
        assert_eq!(
            layout.boot,
            KernelBoot::Multiboot(MultibootKernel {
                version,
                entry: 0x20_0000,
                no_real_mode: false,
            })
        );
        let Parsed::Multiboot(info) = layout.parsed else {
            panic!("not multiboot")
        };
        assert_eq!(info.version, version.number());
        assert_eq!(info.format, "elf32");
        assert_eq!(info.multiboot1.unwrap().offset, 0x88);
        assert_eq!(info.multiboot2.unwrap().offset, 0x98);
    }
}

#[test]
fn a_multiboot2_entry_tag_overrides_the_elf_entry() {
    let mut f = xen_like(false, false);
    let h = mb2_header(&[(3, 0, &[0x20_0010])]);
    f[0x98..0x98 + h.len()].copy_from_slice(&h);
    let info = parse(&f, MultibootVersion::V2).unwrap();
    assert_eq!(info.entry, 0x20_0010);
}

#[test]
fn an_elf64_or_a_flat_file_without_the_kludge_is_refused() {
    let mut f = xen_like(true, false);
    f[4] = 2;
    assert!(matches!(
        parse(&f, MultibootVersion::V1),
        Err(MultibootLoadError::NotElf32 { .. })
    ));
    let mut flat = vec![0u8; 0x100];
    flat[..12].copy_from_slice(&mb1_header(3, None));
    let err = parse(&flat, MultibootVersion::V1).unwrap_err();
    assert!(err.to_string().contains("no ELF"), "{err}");
}

/// A flat image with the kludge header at 0x20: text at 1 MiB + 0x1000.
fn kludge_image(aout: [u32; 5]) -> Vec<u8> {
    let mut f = vec![0x90u8; 0x800];
    let h = mb1_header(MB1_AOUT_KLUDGE | 3, Some(aout));
    f[0x20..0x20 + h.len()].copy_from_slice(&h);
    f
}

#[test]
fn an_a_out_kludge_image_is_loaded_from_the_headers_offset() {
    let base = 0x10_1000;
    let f = kludge_image([base + 0x20, base, base + 0x400, base + 0x2000, base + 0x40]);
    let layout = multiboot_layout(&f, MultibootVersion::V1).unwrap();
    let s = &layout.segments[0];
    assert_eq!((s.mem, s.memsz), (u64::from(base), 0x2000));
    assert_eq!(s.data, SegmentData::Kernel(0..0x400));
    let Parsed::Multiboot(info) = layout.parsed else {
        panic!("not multiboot")
    };
    assert_eq!((info.format, info.entry), ("a.out kludge", base + 0x40));
    // load_end_addr 0: to the end of the file; bss_end_addr 0: no BSS.
    let f = kludge_image([base + 0x20, base, 0, 0, base + 0x40]);
    let info = parse(&f, MultibootVersion::V1).unwrap();
    assert_eq!((info.loads[0].filesz, info.loads[0].memsz), (0x800, 0x800));
}

#[test]
fn inconsistent_a_out_kludges_are_refused_with_the_reason() {
    let base = 0x10_1000;
    let cases: [([u32; 5], &str); 5] = [
        (
            [base, base + 0x10, 0, 0, base + 0x40],
            "load_addr is above header_addr",
        ),
        ([base + 0x1000, base, 0, 0, base + 0x40], "before the file"),
        (
            [base + 0x20, base, base + 0x1000, 0, base + 0x40],
            "past the end of the file",
        ),
        (
            [base + 0x20, base, base + 0x400, base + 0x100, base + 0x40],
            "bss_end_addr",
        ),
        (
            [base + 0x20, base, base + 0x400, 0, base + 0x400],
            "entry_addr is outside",
        ),
    ];
    for (aout, why) in cases {
        let err = parse(&kludge_image(aout), MultibootVersion::V1).unwrap_err();
        assert!(
            matches!(err, MultibootLoadError::BadKludge { what, .. } if what.contains(why)),
            "{why}: {err}"
        );
    }
}

#[test]
fn a_kernel_below_1_mib_above_4_gib_or_outside_ram_is_refused() {
    let low = kludge_image([0x8_0020, 0x8_0000, 0, 0, 0x8_0040]);
    assert_eq!(
        parse(&low, MultibootVersion::V1),
        Err(MultibootLoadError::OutsideLowRam {
            start: 0x8_0000,
            end: 0x8_0800
        })
    );
    let high = kludge_image([0xffff_f020, 0xffff_f000, 0, 0xffff_ffff, 0xffff_f040]);
    assert!(
        parse(&high, MultibootVersion::V1).is_ok(),
        "ends just below 4 GiB"
    );
    let mut f = xen_like(true, false);
    put_le32(&mut f, 52 + 12, 0x4000_0000);
    put_le32(&mut f, 24, 0x4000_0000);
    assert_eq!(
        multiboot_layout(&f, MultibootVersion::V1).unwrap_err(),
        MultibootLoadError::NotInRam {
            start: 0x4000_0000,
            end: 0x4000_3000
        }
    );
}
