use super::*;
use crate::bytes::le64;
use crate::kexec::image::Placement;
use crate::kexec::memmap::{MemRange, E820_RAM};

fn ram(start: u64, end: u64) -> MemRange {
    MemRange {
        start,
        end,
        e820_type: E820_RAM,
    }
}

/// An image with one "kernel" segment placed at `kernel_at`, in RAM up to 8 GiB.
fn image_with_kernel_at(kernel_at: u64) -> DomImage {
    let memmap = vec![ram(0x10_0000, 0xc000_0000), ram(FOUR_GIB, 2 * FOUR_GIB)];
    let mut image = DomImage::new(vec![0x5a; 0x3000], vec![], String::new(), memmap);
    let placement = Placement {
        align: 0x1000,
        min: kernel_at,
        max_end: u64::MAX,
        top_down: false,
    };
    image
        .place(
            SegmentRole::Kernel,
            SegmentData::Kernel(0..0x3000),
            0,
            placement,
        )
        .unwrap();
    image
}

#[test]
fn a_32bit_handoff_gets_the_purgatorys_32bit_exit_below_4g() {
    let mut image = image_with_kernel_at(0x20_0000);
    let handoff = Handoff::Protected32 {
        eip: 0x20_000c,
        eax: 0x2bad_b002,
        ebx: 0x9_0000,
        esi: 0,
    };
    add_purgatory(&mut image, handoff).unwrap();
    let purgatory = image.segment(SegmentRole::Purgatory).unwrap();
    assert!(purgatory.end() <= FOUR_GIB);
    assert_eq!(
        image.regs,
        EntryRegs {
            mode: EntryMode::Protected32,
            rip: 0x20_000c,
            rsi: 0,
            rsp: purgatory.end(),
            eax: 0x2bad_b002,
            ebx: 0x9_0000,
        }
    );
    let code = image.bytes(&purgatory.data);
    assert_eq!(
        le64(code, purgatory::PARAM_EXIT),
        purgatory::EXIT_PROTECTED32
    );
    assert_eq!(le64(code, purgatory::PARAM_EAX), 0x2bad_b002);
    assert_eq!(le64(code, purgatory::PARAM_REGION_COUNT), 1, "the kernel");
    assert_eq!(image.entry, purgatory.mem + purgatory::entry_offset());
}

#[test]
fn a_32bit_handoff_refuses_a_segment_above_4g() {
    let mut image = image_with_kernel_at(FOUR_GIB);
    let handoff = Handoff::Protected32 {
        eip: 0x20_0000,
        eax: 0,
        ebx: 0,
        esi: 0,
    };
    assert_eq!(
        add_purgatory(&mut image, handoff),
        Err(BuildError::Above4G {
            role: SegmentRole::Kernel,
            end: FOUR_GIB + 0x3000
        })
    );
    // The same image is fine for a 64-bit handoff.
    let mut image = image_with_kernel_at(FOUR_GIB);
    let long = Handoff::Long64 {
        rip: FOUR_GIB + 0x200,
        rsi: 0,
    };
    add_purgatory(&mut image, long).unwrap();
    assert_eq!(image.regs.mode, EntryMode::Long64);
}
