//! The multiboot headers: finding them and reading what they ask of the boot loader.
//!
//! - Multiboot 1 (GNU Multiboot Specification 0.6.96, "Header layout"): 4-byte aligned
//!   in the first 8192 bytes; magic 0x1BADB002, flags, checksum with magic + flags +
//!   checksum == 0 (mod 2^32). Flag bits 0..15 are requirements a loader that does not
//!   know them must refuse; kboot knows 0 (page-aligned modules), 1 (memory
//!   information) and 2 (video mode: asked for, not granted: kboot leaves the console
//!   as it is). Bit 16 says the a.out kludge's address fields are valid.
//! - Multiboot 2 (Multiboot2 Specification 2.0, "Header layout" and "Header tags"):
//!   8-byte aligned in the first 32768 bytes; magic 0xE85250D6, architecture (0 =
//!   i386), header_length, checksum over the four; then 8-aligned tags up to an end
//!   tag. A tag whose "optional" flag is clear must be honoured or the image refused.
//!
//! Pure: bytes in, typed headers or errors out.

use serde::Serialize;

use crate::bytes::{le16, le32};

pub(crate) const MB1_MAGIC: u32 = 0x1BAD_B002;
pub(crate) const MB1_SEARCH_BYTES: usize = 8192;
pub(crate) const MB2_MAGIC: u32 = 0xE852_50D6;
pub(crate) const MB2_SEARCH_BYTES: usize = 32768;

/// Multiboot 1 header flag bits.
pub(crate) const MB1_PAGE_ALIGN: u32 = 1 << 0;
pub(crate) const MB1_MEMORY_INFO: u32 = 1 << 1;
pub(crate) const MB1_VIDEO_MODE: u32 = 1 << 2;
pub(crate) const MB1_AOUT_KLUDGE: u32 = 1 << 16;
/// The required bits kboot knows.
const MB1_KNOWN_REQUIRED: u32 = MB1_PAGE_ALIGN | MB1_MEMORY_INFO | MB1_VIDEO_MODE;

/// Multiboot 2 header tag types.
const TAG_END: u16 = 0;
const TAG_INFO_REQUEST: u16 = 1;
const TAG_ADDRESS: u16 = 2;
const TAG_ENTRY: u16 = 3;
const TAG_CONSOLE_FLAGS: u16 = 4;
const TAG_FRAMEBUFFER: u16 = 5;
const TAG_MODULE_ALIGN: u16 = 6;
const TAG_EFI_BS: u16 = 7;
const TAG_ENTRY_EFI32: u16 = 8;
const TAG_ENTRY_EFI64: u16 = 9;
const TAG_RELOCATABLE: u16 = 10;
const TAG_OPTIONAL: u16 = 1;

/// Multiboot 2 information tag types kboot writes (see `protocol/multiboot2.rs`); a
/// required information request for any other is refused.
pub(crate) const MB2_INFO_PROVIDED: [u32; 5] = [1, 2, 3, 4, 6];
/// Information tags only EFI firmware can give (system tables, EFI memory map, boot
/// services, image handles).
const MB2_INFO_EFI: [u32; 6] = [11, 12, 17, 18, 19, 20];

/// The a.out kludge's addresses (multiboot 1 at offset 12 when flag 16 is set;
/// multiboot 2's address tag plus its entry address tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct AoutKludge {
    /// Where the header's first byte goes.
    pub header_addr: u32,
    /// Where the text starts; multiboot 2's 0xFFFFFFFF: from the file's first byte.
    pub load_addr: u32,
    /// End of the bytes read from the file; 0: to the end of the file.
    pub load_end_addr: u32,
    /// End of the zeroed BSS after them; 0: none.
    pub bss_end_addr: u32,
    /// Multiboot 1's entry (multiboot 2 has it in the entry address tag).
    pub entry_addr: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Mb1Header {
    /// Offset of the magic in the file.
    pub offset: u64,
    pub flags: u32,
    pub aout: Option<AoutKludge>,
}

/// A multiboot 2 header tag as found: its type, whether it is optional, its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Mb2Tag {
    #[serde(rename = "type")]
    pub tag_type: u16,
    pub optional: bool,
    pub size: u32,
}

/// The relocatable tag: the image may be loaded anywhere in `min_addr..=max_addr`
/// aligned to `align`. kboot loads it where it is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Relocatable {
    pub min_addr: u32,
    pub max_addr: u32,
    pub align: u32,
    pub preference: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Mb2Header {
    pub offset: u64,
    pub header_length: u32,
    pub tags: Vec<Mb2Tag>,
    /// Information tag types requested (all of them provided when the request is
    /// required).
    pub info_requests: Vec<u32>,
    /// The address tag (a.out kludge) with the entry address tag's entry.
    pub aout: Option<AoutKludge>,
    /// The entry address tag (overrides an ELF's entry).
    pub entry_addr: Option<u32>,
    pub console_flags: Option<u32>,
    pub module_align: bool,
    pub relocatable: Option<Relocatable>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub(crate) enum HeaderError {
    #[error(
        "the multiboot header at offset {offset:#x} requires features kboot does not know \
         (flags {flags:#x}, unknown required bits {unknown:#x})"
    )]
    Mb1UnknownFlags {
        offset: u64,
        flags: u32,
        unknown: u32,
    },
    #[error("the multiboot header at offset {offset:#x} is cut off by the end of the file")]
    Mb1Truncated { offset: u64 },
    #[error("the multiboot2 header at offset {offset:#x} is for architecture {architecture}, not i386 (0)")]
    Mb2Architecture { offset: u64, architecture: u32 },
    #[error(
        "the multiboot2 header at offset {offset:#x} has a bad length {header_length} (its \
         tags must end inside the first 32 KiB of the file)"
    )]
    Mb2Length { offset: u64, header_length: u32 },
    #[error(
        "the multiboot2 header's tag at offset {at:#x} is malformed (type {tag_type}, size {size})"
    )]
    Mb2BadTag { at: u64, tag_type: u16, size: u32 },
    #[error("the multiboot2 header has no end tag")]
    Mb2NoEndTag,
    #[error(
        "the multiboot2 image requires EFI (header tag {tag_type}): EFI multiboot2 is not \
         supported; boot its multiboot (v1) header with --type multiboot-x86 if it has one"
    )]
    Mb2NeedsEfi { tag_type: u16 },
    #[error(
        "the multiboot2 image requires boot information kboot cannot give (tag types \
         {types:?}; kboot gives 1 command line, 2 loader name, 3 modules, 4 basic memory, \
         6 memory map){efi}",
        efi = if .types.iter().any(|t| MB2_INFO_EFI.contains(t)) {
            ": EFI multiboot2 is not supported"
        } else {
            ""
        }
    )]
    Mb2InfoUnavailable { types: Vec<u32> },
    #[error(
        "the multiboot2 image requires a framebuffer (header tag 5); kboot sets no video mode"
    )]
    Mb2NeedsFramebuffer,
    #[error("the multiboot2 header has a required tag of unknown type {tag_type}")]
    Mb2UnknownTag { tag_type: u16 },
}

fn search(bytes: &[u8], limit: usize, step: usize, magic: u32) -> impl Iterator<Item = usize> + '_ {
    let end = bytes.len().min(limit).saturating_sub(3);
    (0..end)
        .step_by(step)
        .filter(move |&at| le32(bytes, at) == magic)
}

/// The first multiboot 1 header: `None` when there is none (magic with a good
/// checksum), else the header or why kboot cannot honour it.
pub(crate) fn find_mb1(bytes: &[u8]) -> Option<Result<Mb1Header, HeaderError>> {
    let at = search(bytes, MB1_SEARCH_BYTES, 4, MB1_MAGIC).find(|&at| {
        at + 12 <= bytes.len()
            && MB1_MAGIC
                .wrapping_add(le32(bytes, at + 4))
                .wrapping_add(le32(bytes, at + 8))
                == 0
    })?;
    let (offset, flags) = (at as u64, le32(bytes, at + 4));
    let unknown = flags & 0xffff & !MB1_KNOWN_REQUIRED;
    if unknown != 0 {
        return Some(Err(HeaderError::Mb1UnknownFlags {
            offset,
            flags,
            unknown,
        }));
    }
    let aout = if flags & MB1_AOUT_KLUDGE != 0 {
        if at + 32 > bytes.len() {
            return Some(Err(HeaderError::Mb1Truncated { offset }));
        }
        Some(AoutKludge {
            header_addr: le32(bytes, at + 12),
            load_addr: le32(bytes, at + 16),
            load_end_addr: le32(bytes, at + 20),
            bss_end_addr: le32(bytes, at + 24),
            entry_addr: le32(bytes, at + 28),
        })
    } else {
        None
    };
    Some(Ok(Mb1Header {
        offset,
        flags,
        aout,
    }))
}

/// The first multiboot 2 header, as [`find_mb1`].
pub(crate) fn find_mb2(bytes: &[u8]) -> Option<Result<Mb2Header, HeaderError>> {
    let at = search(bytes, MB2_SEARCH_BYTES, 8, MB2_MAGIC).find(|&at| {
        at + 16 <= bytes.len()
            && (0..4)
                .map(|i| le32(bytes, at + 4 * i))
                .fold(0u32, u32::wrapping_add)
                == 0
    })?;
    let offset = at as u64;
    let architecture = le32(bytes, at + 4);
    if architecture != 0 {
        return Some(Err(HeaderError::Mb2Architecture {
            offset,
            architecture,
        }));
    }
    let header_length = le32(bytes, at + 8);
    let end = at.checked_add(header_length as usize);
    let Some(end) =
        end.filter(|&end| header_length >= 24 && end <= bytes.len().min(MB2_SEARCH_BYTES))
    else {
        return Some(Err(HeaderError::Mb2Length {
            offset,
            header_length,
        }));
    };
    Some(read_tags(bytes, at, end, header_length))
}

/// Walks the tags of the header at `at` (ending at `end`) and checks that kboot can
/// honour every required one.
fn read_tags(
    bytes: &[u8],
    at: usize,
    end: usize,
    header_length: u32,
) -> Result<Mb2Header, HeaderError> {
    let mut header = Mb2Header {
        offset: at as u64,
        header_length,
        tags: Vec::new(),
        info_requests: Vec::new(),
        aout: None,
        entry_addr: None,
        console_flags: None,
        module_align: false,
        relocatable: None,
    };
    let mut tag_at = at + 16;
    while tag_at + 8 <= end {
        let tag = Mb2Tag {
            tag_type: le16(bytes, tag_at),
            optional: le16(bytes, tag_at + 2) & TAG_OPTIONAL != 0,
            size: le32(bytes, tag_at + 4),
        };
        let bad = HeaderError::Mb2BadTag {
            at: tag_at as u64,
            tag_type: tag.tag_type,
            size: tag.size,
        };
        let body_end = tag_at
            .checked_add(tag.size as usize)
            .filter(|&e| tag.size >= 8 && e <= end)
            .ok_or_else(|| bad.clone())?;
        header.tags.push(tag);
        if tag.tag_type == TAG_END {
            // The address tag's kludge enters where the entry address tag says.
            let entry_addr = header.entry_addr.unwrap_or(0);
            if let Some(aout) = &mut header.aout {
                aout.entry_addr = entry_addr;
            }
            return Ok(header);
        }
        read_tag(&mut header, tag, &bytes[tag_at + 8..body_end], bad)?;
        tag_at = body_end.next_multiple_of(8);
    }
    Err(HeaderError::Mb2NoEndTag)
}

/// Records one tag (not the end tag) in `header`, or refuses it when it is required
/// and kboot cannot honour it; `bad` is the error for a body too short for its type.
fn read_tag(
    header: &mut Mb2Header,
    tag: Mb2Tag,
    body: &[u8],
    bad: HeaderError,
) -> Result<(), HeaderError> {
    let words: Vec<u32> = (0..body.len() / 4).map(|i| le32(body, 4 * i)).collect();
    let (tag_type, optional) = (tag.tag_type, tag.optional);
    match (tag_type, words.as_slice()) {
        (TAG_INFO_REQUEST, types) => {
            let missing: Vec<u32> = types
                .iter()
                .copied()
                .filter(|t| !MB2_INFO_PROVIDED.contains(t))
                .collect();
            if !optional && !missing.is_empty() {
                return Err(HeaderError::Mb2InfoUnavailable { types: missing });
            }
            header.info_requests.extend(types);
        }
        (TAG_ADDRESS, &[header_addr, load_addr, load_end_addr, bss_end_addr, ..]) => {
            header.aout = Some(AoutKludge {
                header_addr,
                load_addr,
                load_end_addr,
                bss_end_addr,
                entry_addr: 0,
            });
        }
        (TAG_ENTRY, &[entry_addr, ..]) => header.entry_addr = Some(entry_addr),
        (TAG_CONSOLE_FLAGS, &[flags, ..]) => header.console_flags = Some(flags),
        (TAG_MODULE_ALIGN, _) => header.module_align = true,
        (TAG_RELOCATABLE, &[min_addr, max_addr, align, preference, ..]) => {
            header.relocatable = Some(Relocatable {
                min_addr,
                max_addr,
                align,
                preference,
            });
        }
        (TAG_ADDRESS | TAG_ENTRY | TAG_CONSOLE_FLAGS | TAG_RELOCATABLE, _) => return Err(bad),
        (TAG_EFI_BS | TAG_ENTRY_EFI32 | TAG_ENTRY_EFI64, _) if !optional => {
            return Err(HeaderError::Mb2NeedsEfi { tag_type })
        }
        (TAG_FRAMEBUFFER, _) if !optional => return Err(HeaderError::Mb2NeedsFramebuffer),
        (TAG_EFI_BS | TAG_ENTRY_EFI32 | TAG_ENTRY_EFI64 | TAG_FRAMEBUFFER, _) => {}
        _ if !optional => return Err(HeaderError::Mb2UnknownTag { tag_type }),
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests;
