use super::*;
use crate::bytes::{le32, put_le16, put_le32, put_le64};
use crate::kexec::arch::x86_64::zero_page as zp;
use crate::kexec::image::DomImage;
use crate::kexec::memmap::{MemRange, E820_RAM};

fn note(name: &str, n_type: u32, desc: &[u8]) -> Vec<u8> {
    let mut n = Vec::new();
    n.extend_from_slice(&(name.len() as u32 + 1).to_le_bytes());
    n.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    n.extend_from_slice(&n_type.to_le_bytes());
    n.extend_from_slice(name.as_bytes());
    n.push(0);
    n.resize(n.len().next_multiple_of(4), 0);
    n.extend_from_slice(desc);
    n.resize(n.len().next_multiple_of(4), 0);
    n
}

/// An x86_64 ELF as a vmlinux is laid out: a text PT_LOAD at 16 MiB physical /
/// 0xffffffff81000000 virtual, a second one at an unaligned physical address, and
/// a PT_NOTE with Xen notes (guest OS, PV entry, PVH entry).
pub(in crate::kexec::loader) fn vmlinux(machine: u16) -> Vec<u8> {
    let notes = [
        note("Xen", XEN_ELFNOTE_GUEST_OS, b"linux\0"),
        note(
            "Xen",
            XEN_ELFNOTE_ENTRY,
            &0xffff_ffff_8100_0040u64.to_le_bytes(),
        ),
        note(
            "Xen",
            XEN_ELFNOTE_PHYS32_ENTRY,
            &0x100_0010u32.to_le_bytes(),
        ),
        note("GNU", 3, &[1, 2, 3, 4]),
    ]
    .concat();
    let mut f = vec![0u8; 0x3100];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = ELFCLASS64;
    f[5] = 1; // little-endian
    f[6] = 1; // EV_CURRENT
    put_le16(&mut f, 16, 2u16); // ET_EXEC
    put_le16(&mut f, 18, machine);
    put_le32(&mut f, 20, 1u32);
    put_le64(&mut f, 24, 0x100_0000u64); // e_entry
    put_le64(&mut f, 32, 64u64); // e_phoff
    put_le16(&mut f, 52, 64u16); // e_ehsize
    put_le16(&mut f, 54, 56u16); // e_phentsize
    put_le16(&mut f, 56, 3u16); // e_phnum
    let notes_at = 0x400usize;
    let phdrs: [(u32, u64, u64, u64, u64, u64); 3] = [
        (
            PT_LOAD,
            0x1000,
            0xffff_ffff_8100_0000,
            0x100_0000,
            0x2000,
            0x3000,
        ),
        (
            PT_LOAD,
            0x3000,
            0xffff_ffff_8200_0800,
            0x200_0800,
            0x100,
            0x100,
        ),
        (
            PT_NOTE,
            notes_at as u64,
            0,
            0,
            notes.len() as u64,
            notes.len() as u64,
        ),
    ];
    for (i, &(p_type, offset, vaddr, paddr, filesz, memsz)) in phdrs.iter().enumerate() {
        let at = 64 + i * 56;
        put_le32(&mut f, at, p_type);
        put_le64(&mut f, at + 8, offset);
        put_le64(&mut f, at + 16, vaddr);
        put_le64(&mut f, at + 24, paddr);
        put_le64(&mut f, at + 32, filesz);
        put_le64(&mut f, at + 40, memsz);
        let align: u64 = if p_type == PT_NOTE { 4 } else { 0x1000 };
        put_le64(&mut f, at + 48, align);
    }
    f[notes_at..notes_at + notes.len()].copy_from_slice(&notes);
    for (i, b) in f[0x1000..].iter_mut().enumerate() {
        *b = (i % 253) as u8 | 1;
    }
    f
}

fn ram_1g() -> Vec<MemRange> {
    vec![MemRange {
        start: 0x10_0000,
        end: 0x4000_0000,
        e820_type: E820_RAM,
    }]
}

#[test]
fn an_elf_for_another_machine_is_refused_by_name() {
    assert!(ElfLoader.probe(&vmlinux(EM_X86_64)));
    assert!(
        ElfLoader.probe(&vmlinux(183)),
        "aarch64: probed, then named"
    );
    assert!(!ElfLoader.probe(b"\x7fELF"));
    assert_eq!(parse(&vmlinux(183)), Err(ElfLoadError::WrongMachine(183)));
    // Only the header: still named by its machine.
    assert_eq!(
        parse(&vmlinux(183)[..64]),
        Err(ElfLoadError::WrongMachine(183))
    );
}

#[test]
fn xen_notes_are_read_and_tell_pv_and_pvh() {
    let info = parse(&vmlinux(EM_X86_64)).unwrap();
    assert_eq!(
        info.xen.types,
        [
            XEN_ELFNOTE_GUEST_OS,
            XEN_ELFNOTE_ENTRY,
            XEN_ELFNOTE_PHYS32_ENTRY
        ]
    );
    assert_eq!(info.xen.guest_os.as_deref(), Some("linux"));
    assert_eq!(info.xen.entry, Some(0xffff_ffff_8100_0040));
    assert_eq!(info.xen.phys32_entry, Some(0x100_0010));
    assert!(info.xen_pv && info.xen_pvh);
    assert_eq!(info.entry, 0x100_0000);
}

#[test]
fn a_note_segment_goblin_cannot_walk_ends_the_walk() {
    let mut kernel = vmlinux(EM_X86_64);
    // PT_NOTE's p_align = 0x1000: goblin's note iterator errors (forever).
    let at = 64 + 2 * 56 + 48;
    put_le64(&mut kernel, at, 0x1000u64);
    let info = parse(&kernel).unwrap();
    assert!(!info.xen_pvh);
}

#[test]
fn pt_loads_go_at_their_physical_addresses() {
    let kernel = vmlinux(EM_X86_64);
    let mut image = DomImage::new(kernel.clone(), vec![9; 100], "ro".into(), ram_1g());
    crate::kexec::build::build(&mut image).unwrap();
    assert_eq!(image.loader, Some("ELF"));
    let loads: Vec<_> = image
        .segments
        .iter()
        .filter(|s| s.role == SegmentRole::Kernel)
        .collect();
    assert_eq!((loads[0].mem, loads[0].memsz), (0x100_0000, 0x3000));
    assert_eq!(image.bytes(&loads[0].data), &kernel[0x1000..0x3000]);
    // Unaligned: placed from the page start, the data after 0x800 zero bytes.
    assert_eq!((loads[1].mem, loads[1].memsz), (0x200_0000, 0x1000));
    let second = image.bytes(&loads[1].data);
    assert_eq!(&second[..0x800], &[0u8; 0x800]);
    assert_eq!(&second[0x800..], &kernel[0x3000..0x3100]);
    assert_eq!(image.regs.rip, 0x100_0000);
    let zero_page = image.bytes(&image.segment(SegmentRole::BootParams).unwrap().data);
    assert_eq!(&zero_page[0x202..0x206], b"HdrS");
    assert_eq!(
        zero_page[zp::TYPE_OF_LOADER],
        0xff,
        "the kernel drops the initrd when 0"
    );
    assert_eq!(le32(zero_page, zp::RAMDISK_SIZE), 100);
    let ramdisk = image.segment(SegmentRole::Ramdisk).unwrap();
    assert!(ramdisk.end() <= RAMDISK_MAX_END);
}

#[test]
fn a_pt_load_outside_ram_or_the_file_is_refused() {
    let mut kernel = vmlinux(EM_X86_64);
    let mut image = DomImage::new(
        kernel.clone(),
        vec![],
        String::new(),
        vec![MemRange {
            start: 0x10_0000,
            end: 0x180_0000,
            e820_type: E820_RAM,
        }],
    );
    assert!(matches!(
        crate::kexec::build::build(&mut image),
        Err(crate::kexec::build::BuildError::Loader(LoaderError::Elf(
            ElfLoadError::Layout(ImageError::NoRoom { .. })
        )))
    ));
    // filesz of the first PT_LOAD past the end of the file
    put_le64(&mut kernel, 64 + 32, 0x10_0000u64);
    assert!(matches!(
        parse(&kernel),
        Err(ElfLoadError::Truncated { index: 0, .. })
    ));
}

#[test]
fn overlapping_pt_loads_are_named_not_reported_as_no_room() {
    let mut kernel = vmlinux(EM_X86_64);
    // The second PT_LOAD's physical address inside the first's 0x100_0000..0x100_3000.
    put_le64(&mut kernel, 64 + 56 + 24, 0x100_2800u64);
    let err = layout(&kernel, &ram_1g()).unwrap_err();
    assert_eq!(
        err,
        ElfLoadError::Overlap {
            index: 1,
            start: 0x100_2000,
            end: 0x100_3000,
            other: 0,
            other_start: 0x100_0000,
            other_end: 0x100_3000,
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("segments overlap")
            && message.contains("PT_LOAD 1")
            && message.contains("PT_LOAD 0"),
        "{message}"
    );
}
