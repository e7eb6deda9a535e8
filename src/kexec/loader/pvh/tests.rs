use super::*;
use crate::kexec::build::build_as;
use crate::kexec::image::{DomImage, EntryMode, SegmentRole, FOUR_GIB, LOW_LIMIT_BYTES};
use crate::kexec::loader::bzimage::tests::bzimage_carrying;
use crate::kexec::loader::elf::tests::vmlinux;
use crate::kexec::loader::{choose, probe, LoaderError};
use crate::kexec::memmap::{MemRange, E820_RAM, E820_RESERVED};

/// RAM below 640 KiB, 1 MiB..1 GiB and 4..8 GiB: a layout that strays above 4 GiB
/// or into the first MiB would find room there.
fn memmap() -> Vec<MemRange> {
    let range = |start, end, e820_type| MemRange {
        start,
        end,
        e820_type,
    };
    vec![
        range(0, 0x9_fc00, E820_RAM),
        range(0xf_0000, 0x10_0000, E820_RESERVED),
        range(0x10_0000, 0x4000_0000, E820_RAM),
        range(0x1_0000_0000, 0x2_0000_0000, E820_RAM),
    ]
}

/// The vmlinux with its PVH note's type changed (18 -> 17): no PVH entry.
fn vmlinux_without_pvh_note() -> Vec<u8> {
    let mut elf = vmlinux(62);
    let header = [4u8, 0, 0, 0, 4, 0, 0, 0, 18, 0, 0, 0];
    let at = elf.windows(12).position(|w| w == header).unwrap();
    elf[at + 8] = 17;
    elf
}

#[test]
fn pvh_is_taken_by_name_only_never_by_probing() {
    let elf = vmlinux(62);
    assert_eq!(probe(&elf).unwrap().name(), "ELF");
    assert_eq!(choose(&elf, Some("pvh")).unwrap().name(), "PVH");
    let (bzimage, _) = bzimage_carrying(&elf);
    assert_eq!(probe(&bzimage).unwrap().name(), "bzImage");
    assert_eq!(choose(&bzimage, Some("pvh")).unwrap().name(), "PVH");
    assert_eq!(
        choose(b"not a kernel at all, just text", Some("pvh")).err(),
        Some(LoaderError::NotOfType {
            name: "pvh".into(),
            loader: "PVH"
        })
    );
}

#[test]
fn an_elf_is_laid_out_at_its_physical_addresses_and_entered_at_its_pvh_entry() {
    let elf = vmlinux(62);
    let layout = layout(&elf, &memmap()).unwrap();
    assert_eq!(
        layout.boot,
        KernelBoot::Pvh(PvhKernel { entry: 0x100_0010 })
    );
    let places: Vec<(u64, u64)> = layout.segments.iter().map(|s| (s.mem, s.memsz)).collect();
    assert_eq!(places, [(0x100_0000, 0x3000), (0x200_0000, 0x1000)]);
    assert_eq!(layout.segments[0].data, SegmentData::Kernel(0x1000..0x3000));
}

#[test]
fn a_bzimage_is_laid_out_as_the_vmlinux_in_its_payload() {
    let elf = vmlinux(62);
    let (bzimage, _) = bzimage_carrying(&elf);
    let layout = layout(&bzimage, &memmap()).unwrap();
    assert_eq!(
        layout.boot,
        KernelBoot::Pvh(PvhKernel { entry: 0x100_0010 })
    );
    assert_eq!(layout.segments[0].mem, 0x100_0000);
    // The vmlinux's bytes, copied: the image holds the bzImage, not the vmlinux.
    assert_eq!(
        layout.segments[0].data,
        SegmentData::Owned(elf[0x1000..0x3000].to_vec())
    );
    let Parsed::Elf(info) = PvhLoader.describe(&bzimage).unwrap() else {
        panic!("not the vmlinux's description");
    };
    assert_eq!(info.xen.phys32_entry, Some(0x100_0010));
}

#[test]
fn a_kernel_without_a_pvh_note_is_refused_with_the_reason() {
    let elf = vmlinux_without_pvh_note();
    let err = layout(&elf, &memmap()).err().unwrap();
    assert_eq!(err, PvhLoadError::NoPvhEntry { inside: "" });
    assert_eq!(
        err.to_string(),
        "the kernel has no PVH entry (no Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY): it was \
         built without CONFIG_PVH; boot a kernel built with it, or boot this one without \
         the pvh type"
    );
    let (bzimage, _) = bzimage_carrying(&elf);
    assert_eq!(
        layout(&bzimage, &memmap()).err(),
        Some(PvhLoadError::NoPvhEntry {
            inside: " in the vmlinux inside the bzImage"
        })
    );
}

#[test]
fn a_bzimage_whose_payload_cannot_be_unpacked_says_so() {
    let (mut bzimage, at) = bzimage_carrying(&vmlinux(62));
    // An xz magic on LZ4 data: a corrupt xz stream.
    bzimage[at..at + 6].copy_from_slice(&[0xfd, b'7', b'z', b'X', b'Z', 0]);
    let err = layout(&bzimage, &memmap()).err().unwrap();
    assert!(
        matches!(err, PvhLoadError::Vmlinux(VmlinuxError::Unpack(_))),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("cannot unpack the bzImage's vmlinux: corrupt xz"),
        "{err}"
    );
    bzimage[at..at + 6].copy_from_slice(b"nope!!");
    assert_eq!(
        layout(&bzimage, &memmap()).err(),
        Some(PvhLoadError::Vmlinux(VmlinuxError::UnknownPayload))
    );
}

#[test]
fn the_whole_build_enters_the_pvh_entry_in_32_bit_mode_with_ebx_the_start_info() {
    let mut image = DomImage::new(vmlinux(62), vec![7; 5000], "console=ttyS0".into(), memmap());
    build_as(&mut image, Some("pvh")).unwrap();
    assert_eq!(image.loader, Some("PVH"));
    assert_eq!(image.regs.mode, EntryMode::Protected32);
    assert_eq!(image.regs.rip, 0x100_0010);
    assert_eq!((image.regs.eax, image.regs.rsi), (0, 0));
    let start_info = image.segment(SegmentRole::BootParams).unwrap();
    assert_eq!(u64::from(image.regs.ebx), start_info.mem);
    let info = image.pvh_start_info.as_ref().unwrap();
    assert_eq!(info.start_info_paddr.0, start_info.mem);
    for segment in &image.segments {
        assert!(
            segment.mem >= LOW_LIMIT_BYTES && segment.end() <= FOUR_GIB,
            "{segment:?}"
        );
    }
    let ramdisk = image.segment(SegmentRole::Ramdisk).unwrap();
    assert_eq!(info.modules[0].paddr.0, ramdisk.mem);
    assert_eq!(info.modules[0].size.0, 5000);
}
