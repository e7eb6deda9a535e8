//! The bzImage loader: x86 boot protocol 2.06 or later with a 64-bit entry
//! (Documentation/arch/x86/boot.rst, "64-bit boot protocol"). Lays out four segments:
//!
//! - the protected-mode kernel, at the lowest `kernel_alignment`-aligned address at or
//!   above max(1 MiB, `pref_address`), reserving ALIGN(`init_size`, 4 KiB) so the
//!   decompressor has room in place;
//! - the ramdisk, top-down in RAM below `initrd_addr_max` (anywhere when
//!   XLF_CAN_BE_LOADED_ABOVE_4G says the kernel takes it above 4 GiB);
//! - the zero page with the command line right after it, below 4 GiB;
//! - the purgatory with its stack, below 4 GiB.
//!
//! Entry: `rip` = kernel + 0x200 (the 64-bit entry), `rsi` = zero page.

use serde::Serialize;

use crate::kexec::bzimage::{self as header, BzImageError};
use crate::kexec::image::{
    DomImage, ImageError, Parsed, Placement, SegmentData, SegmentRole, LOW_LIMIT_BYTES, PAGE_BYTES,
};

use super::{linux, Loader, LoaderError};

const INITRD_ADDR_MAX: usize = 0x22c;
const KERNEL_ALIGNMENT: usize = 0x230;
const RELOCATABLE_KERNEL: usize = 0x234;
const CMDLINE_SIZE: usize = 0x238;
const PREF_ADDRESS: usize = 0x258;
const INIT_SIZE: usize = 0x260;
/// The 64-bit entry point is this far into the protected-mode kernel.
pub(crate) const ENTRY_64_OFFSET: u64 = 0x200;
const XLF_CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 1;

/// What the setup header says, beyond `bzimage::SetupHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct BzImageInfo {
    pub protocol_version: u16,
    pub setup_sects: u8,
    pub loadflags: u8,
    pub xloadflags: u16,
    pub kernel_offset_bytes: u64,
    pub initrd_addr_max: u32,
    pub kernel_alignment: u32,
    pub relocatable: bool,
    pub cmdline_size: u32,
    pub pref_address: u64,
    pub init_size: u32,
    /// What the compressed payload holds (`describe` only: the layout never needs it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<PayloadInfo>,
}

/// The compressed vmlinux inside a bzImage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PayloadInfo {
    pub compression: &'static str,
    pub compressed_bytes: u64,
    /// The vmlinux's ELF headers and Xen notes, when kboot can decompress it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmlinux: Option<super::elf::ElfInfo>,
}

const PAYLOAD_OFFSET: usize = 0x248;
const PAYLOAD_LENGTH: usize = 0x24c;
const LZ4_LEGACY_MAGIC: [u8; 4] = [0x02, 0x21, 0x4c, 0x18];
/// Legacy LZ4 frames hold blocks of at most 8 MiB.
const LZ4_LEGACY_BLOCK_BYTES: usize = 8 << 20;
/// No vmlinux is this big; a bound keeps a hostile header from exhausting memory.
const MAX_VMLINUX_BYTES: usize = 512 << 20;

fn compression_of(payload: &[u8]) -> &'static str {
    match payload {
        [0x1f, 0x8b, ..] => "gzip",
        [0x02, 0x21, 0x4c, 0x18, ..] => "lz4",
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => "xz",
        [0x28, 0xb5, 0x2f, 0xfd, ..] => "zstd",
        [b'B', b'Z', b'h', ..] => "bzip2",
        [0x5d, 0, 0, ..] => "lzma",
        [0x89, b'L', b'Z', b'O', ..] => "lzo",
        [0x7f, b'E', b'L', b'F', ..] => "none",
        _ => "unknown",
    }
}

/// Unpacks the kernel's LZ4 legacy format (lz4 -l, as kbuild's `cmd_lz4` writes it):
/// the magic, then blocks each led by a u32 compressed size; kbuild appends the
/// decompressed size as a final u32, which reads as a block too long for what is left.
pub(crate) fn lz4_legacy(payload: &[u8]) -> Option<Vec<u8>> {
    let mut rest = payload.strip_prefix(&LZ4_LEGACY_MAGIC)?;
    let mut out = Vec::new();
    while rest.len() >= 4 {
        let (size, after) = rest.split_at(4);
        if size == LZ4_LEGACY_MAGIC {
            rest = after;
            continue;
        }
        let size = u32::from_le_bytes(size.try_into().ok()?) as usize;
        if size > after.len() {
            break;
        }
        let start = out.len();
        if start + LZ4_LEGACY_BLOCK_BYTES > MAX_VMLINUX_BYTES {
            return None;
        }
        out.resize(start + LZ4_LEGACY_BLOCK_BYTES, 0);
        let written = lz4_flex::block::decompress_into(&after[..size], &mut out[start..]).ok()?;
        out.truncate(start + written);
        rest = &after[size..];
    }
    Some(out)
}

/// The payload's compression and, for gzip, LZ4 or none, the vmlinux's headers.
pub(crate) fn payload_info(kernel: &[u8], info: &BzImageInfo) -> Option<PayloadInfo> {
    let start =
        (info.kernel_offset_bytes as usize).checked_add(u32_at(kernel, PAYLOAD_OFFSET) as usize)?;
    let end = start.checked_add(u32_at(kernel, PAYLOAD_LENGTH) as usize)?;
    let payload = kernel.get(start..end)?;
    let compression = compression_of(payload);
    let vmlinux = match compression {
        "lz4" => lz4_legacy(payload),
        "gzip" => {
            use std::io::Read;
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(payload)
                .take(MAX_VMLINUX_BYTES as u64)
                .read_to_end(&mut out)
                .ok()
                .map(|_| out)
        }
        "none" => Some(payload.to_vec()),
        _ => None,
    };
    Some(PayloadInfo {
        compression,
        compressed_bytes: payload.len() as u64,
        vmlinux: vmlinux.and_then(|bytes| super::elf::parse(&bytes).ok()),
    })
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum BzImageLoadError {
    #[error(transparent)]
    Header(#[from] BzImageError),
    #[error("kernel_alignment {0:#x} is not a power of two")]
    BadAlignment(u32),
    #[error("the command line is {len} bytes; this kernel takes at most {max}")]
    CmdlineTooLong { len: usize, max: u32 },
    #[error(transparent)]
    Layout(#[from] ImageError),
    #[error(transparent)]
    Boot(#[from] linux::BootSetupError),
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut v = [0u8; 4];
    v.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(v)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

/// Parses and checks the header (magic, protocol, 64-bit entry, file length).
pub(crate) fn parse(kernel: &[u8]) -> Result<BzImageInfo, BzImageLoadError> {
    let head = &kernel[..kernel.len().min(header::HEADER_BYTES)];
    let setup = header::parse_header(head, kernel.len() as u64)?;
    if head.len() < INIT_SIZE + 4 {
        return Err(BzImageError::TooShort {
            len: kernel.len() as u64,
        }
        .into());
    }
    // Fields from protocol 2.10 on (pref_address, init_size) read as zero before it.
    let newer = setup.protocol_version >= 0x020a;
    Ok(BzImageInfo {
        protocol_version: setup.protocol_version,
        setup_sects: setup.setup_sects,
        loadflags: setup.loadflags,
        xloadflags: setup.xloadflags,
        kernel_offset_bytes: setup.kernel_offset_bytes(),
        initrd_addr_max: u32_at(head, INITRD_ADDR_MAX),
        kernel_alignment: u32_at(head, KERNEL_ALIGNMENT),
        relocatable: head[RELOCATABLE_KERNEL] != 0,
        cmdline_size: u32_at(head, CMDLINE_SIZE),
        pref_address: if newer { u64_at(head, PREF_ADDRESS) } else { 0 },
        init_size: if newer { u32_at(head, INIT_SIZE) } else { 0 },
        payload: None,
    })
}

pub(crate) struct BzImageLoader;

impl Loader for BzImageLoader {
    fn name(&self) -> &'static str {
        "bzImage"
    }

    fn probe(&self, kernel: &[u8]) -> bool {
        kernel.len() > 0x206 && &kernel[0x202..0x206] == b"HdrS"
    }

    fn describe(&self, kernel: &[u8]) -> Result<Parsed, LoaderError> {
        let mut info = parse(kernel)?;
        info.payload = payload_info(kernel, &info);
        Ok(Parsed::BzImage(info))
    }

    fn load(&self, image: &mut DomImage) -> Result<(), LoaderError> {
        layout(image).map_err(LoaderError::from)
    }
}

fn layout(image: &mut DomImage) -> Result<(), BzImageLoadError> {
    let info = parse(&image.kernel)?;
    if image.cmdline.len() > info.cmdline_size as usize {
        return Err(BzImageLoadError::CmdlineTooLong {
            len: image.cmdline.len(),
            max: info.cmdline_size,
        });
    }
    let kernel_alignment = u64::from(info.kernel_alignment);
    if !kernel_alignment.is_power_of_two() {
        return Err(BzImageLoadError::BadAlignment(info.kernel_alignment));
    }

    // Kernel: a relocatable kernel goes at the first aligned spot at or above its
    // preferred address; a fixed one only at that address.
    let kernel_min = LOW_LIMIT_BYTES.max(info.pref_address);
    let kernel_range = (info.kernel_offset_bytes as usize)..image.kernel.len();
    let kernel_placement = Placement {
        align: kernel_alignment,
        min: kernel_min,
        max_end: if info.relocatable {
            u64::MAX
        } else {
            kernel_min
                .checked_add(u64::from(info.init_size).max(kernel_range.len() as u64))
                .and_then(|end| end.checked_add(PAGE_BYTES))
                .ok_or(ImageError::Overflow("the kernel's end"))?
        },
        top_down: false,
    };
    let kernel_index = image.place(
        SegmentRole::Kernel,
        SegmentData::Kernel(kernel_range),
        u64::from(info.init_size),
        kernel_placement,
    )?;
    image.load_data_only(kernel_index)?;
    let kernel_addr = image.segments[kernel_index].mem;

    let ramdisk_max_end = if info.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G != 0 {
        u64::MAX
    } else {
        u64::from(info.initrd_addr_max) + 1
    };
    let header_bytes = image.kernel[..image.kernel.len().min(header::HEADER_BYTES)].to_vec();
    linux::place_boot(
        image,
        &header_bytes,
        kernel_addr + ENTRY_64_OFFSET,
        ramdisk_max_end,
    )?;
    image.parsed = Some(Parsed::BzImage(info));
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::kexec::arch::x86_64::purgatory;
    use crate::kexec::arch::x86_64::zero_page as zp;
    use crate::kexec::image::FOUR_GIB;
    use crate::kexec::image::{Segment, MAX_SEGMENTS};
    use crate::kexec::memmap::{MemRange, E820_ACPI, E820_RAM, E820_RESERVED};

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
        k[0x1f4..0x1f8].copy_from_slice(&((PAYLOAD_BYTES / 16) as u32).to_le_bytes());
        k[0x1fe..0x200].copy_from_slice(&0xaa55u16.to_le_bytes());
        k[0x200] = 0xeb;
        k[0x201] = JUMP_LEN;
        k[0x202..0x206].copy_from_slice(b"HdrS");
        k[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
        k[0x211] = 0x01;
        k[0x214..0x218].copy_from_slice(&0x10_0000u32.to_le_bytes());
        k[INITRD_ADDR_MAX..INITRD_ADDR_MAX + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        k[KERNEL_ALIGNMENT..KERNEL_ALIGNMENT + 4].copy_from_slice(&ALIGN.to_le_bytes());
        k[RELOCATABLE_KERNEL] = 1;
        k[0x235] = 0x15;
        k[0x236..0x238].copy_from_slice(&xloadflags.to_le_bytes());
        k[CMDLINE_SIZE..CMDLINE_SIZE + 4].copy_from_slice(&0x7ffu32.to_le_bytes());
        k[PREF_ADDRESS..PREF_ADDRESS + 8].copy_from_slice(&PREF.to_le_bytes());
        k[INIT_SIZE..INIT_SIZE + 4].copy_from_slice(&INIT_SIZE_BYTES.to_le_bytes());
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
        crate::kexec::loader::load(&mut image).unwrap();
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
        let patched = purgatory::patched(image.regs.rip, p.mem, g.end(), &expected).unwrap();
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
        assert_eq!(zp::read_u32(zp, zp::RAMDISK_IMAGE) as u64, r.mem);
        assert_eq!(zp::read_u32(zp, zp::RAMDISK_SIZE), 0x1_2345);
        assert_eq!(zp::read_u32(zp, 0x0c0), 0, "ext_ramdisk_image");
        assert_eq!(zp::read_u32(zp, zp::CMD_LINE_PTR) as u64, p.mem + 0x1000);
        assert_eq!(zp::read_u32(zp, 0x0c8), 0, "ext_cmd_line_ptr");
        assert_eq!(zp::read_u32(zp, zp::HARDWARE_SUBARCH), 0);
        assert_eq!(
            zp::read_u32(zp, zp::ACPI_RSDP_ADDR),
            0,
            "BIOS: the kernel scans"
        );
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

    #[test]
    fn describe_reads_the_xen_notes_of_an_lz4_payload() {
        let vmlinux = crate::kexec::loader::elf::tests::vmlinux(62);
        let mut payload = LZ4_LEGACY_MAGIC.to_vec();
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
        kernel[0x1f4..0x1f8].copy_from_slice(&syssize.to_le_bytes());
        kernel[PAYLOAD_OFFSET..PAYLOAD_OFFSET + 4]
            .copy_from_slice(&(payload_offset as u32).to_le_bytes());
        kernel[PAYLOAD_LENGTH..PAYLOAD_LENGTH + 4]
            .copy_from_slice(&(payload.len() as u32).to_le_bytes());
        let Parsed::BzImage(info) = BzImageLoader.describe(&kernel).unwrap() else {
            panic!("not a bzImage description");
        };
        let payload = info.payload.unwrap();
        assert_eq!(payload.compression, "lz4");
        let elf = payload.vmlinux.unwrap();
        assert!(elf.xen_pvh && elf.xen_pv);
        assert_eq!(elf.xen.phys32_entry, Some(0x100_0010));

        // A payload kboot cannot unpack is named, with no vmlinux.
        let at = KERNEL_OFFSET + payload_offset;
        kernel[at..at + 6].copy_from_slice(&[0xfd, b'7', b'z', b'X', b'Z', 0]);
        let Parsed::BzImage(info) = BzImageLoader.describe(&kernel).unwrap() else {
            panic!("not a bzImage description");
        };
        assert_eq!(info.payload.unwrap().compression, "xz");
    }

    #[test]
    fn a_uefi_rsdp_reaches_the_zero_page() {
        let mut image = DomImage::new(bzimage(0x7f), vec![], CMDLINE.into(), qemu_1g());
        image.acpi_rsdp_addr = Some(0x1_7fb7_e014);
        crate::kexec::loader::load(&mut image).unwrap();
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
                assert!(
                    std::ptr::eq(s, t) || s.reserved_end() <= t.mem || t.reserved_end() <= s.mem
                );
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
        assert_eq!(zp::read_u32(zero_page(&below), 0x0c0), 0);

        let above = lay_out(bzimage(0x03), 0x1000, map);
        let r = seg(&above, SegmentRole::Ramdisk);
        assert_eq!(r.mem, 0x1_ffff_f000);
        let zp = zero_page(&above);
        assert_eq!(zp::read_u32(zp, zp::RAMDISK_IMAGE), 0xffff_f000);
        assert_eq!(zp::read_u32(zp, 0x0c0), 1, "ext_ramdisk_image");
        let boot_params = seg(&above, SegmentRole::BootParams);
        assert!(boot_params.end() <= FOUR_GIB);
    }

    #[test]
    fn small_ram_names_the_segment_that_does_not_fit() {
        let map = vec![range(0x10_0000, 0x101_0000, E820_RAM)];
        let mut image = DomImage::new(bzimage(0x7f), vec![], CMDLINE.into(), map);
        let err = crate::kexec::loader::load(&mut image).unwrap_err();
        assert!(
            matches!(
                err,
                LoaderError::BzImage(BzImageLoadError::Layout(ImageError::NoRoom {
                    role: SegmentRole::Kernel,
                    size: 0x2_1000,
                    ..
                }))
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
        assert_eq!(zp::read_u32(zp, zp::RAMDISK_IMAGE), 0);
        assert_eq!(zp::read_u32(zp, zp::RAMDISK_SIZE), 0);
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
        assert!(crate::kexec::loader::load(&mut image).is_err());
    }

    #[test]
    fn each_bad_header_byte_has_its_error() {
        let too_long = "x".repeat(0x800);
        let mut image = DomImage::new(bzimage(0x7f), vec![], too_long, qemu_1g());
        let err = crate::kexec::loader::load(&mut image).unwrap_err();
        assert!(matches!(
            err,
            LoaderError::BzImage(BzImageLoadError::CmdlineTooLong {
                len: 0x800,
                max: 0x7ff
            })
        ));

        let mut kernel = bzimage(0x7f);
        kernel[KERNEL_ALIGNMENT] = 3;
        assert!(matches!(
            parse(&kernel).and_then(|_| {
                let mut image = DomImage::new(kernel.clone(), vec![], String::new(), qemu_1g());
                layout(&mut image)
            }),
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
            crate::kexec::loader::load(&mut image),
            Err(LoaderError::Unrecognised { .. })
        ));
    }
}
