use super::*;
use crate::kexec::memmap::{E820_RAM, E820_RESERVED};

fn ram(start: u64, end: u64) -> MemRange {
    MemRange {
        start,
        end,
        e820_type: E820_RAM,
    }
}

fn anywhere(align: u64, top_down: bool) -> Placement {
    Placement {
        align,
        min: LOW_LIMIT_BYTES,
        max_end: u64::MAX,
        top_down,
    }
}

#[test]
fn holes_skip_reserved_and_taken_ranges() {
    let map = [
        ram(0x1000, 0x9f000),
        MemRange {
            start: 0x9f000,
            end: 0x10_0000,
            e820_type: E820_RESERVED,
        },
        ram(0x10_0000, 0x400_0000),
    ];
    let taken = [0x10_0000..0x20_0000];
    let bottom = find_hole(&map, &taken, 0x1000, &anywhere(0x1000, false));
    assert_eq!(bottom, Some(0x20_0000));
    let top = find_hole(&map, &taken, 0x1000, &anywhere(0x1000, true));
    assert_eq!(top, Some(0x3ff_f000));
    let aligned = find_hole(
        &map,
        &[0x10_0000..0x20_1000],
        0x1000,
        &anywhere(0x20_0000, false),
    );
    assert_eq!(aligned, Some(0x40_0000));
    assert_eq!(
        find_hole(&map, &[], 0x400_0000, &anywhere(0x1000, false)),
        None
    );
}

#[test]
fn place_rounds_to_pages_and_never_overlaps() {
    let mut image = DomImage::new(vec![1; 10], vec![], String::new(), vec![ram(0, 0x80_0000)]);
    let a = image
        .place(
            SegmentRole::Purgatory,
            SegmentData::Owned(vec![0; 5]),
            0,
            anywhere(1, false),
        )
        .unwrap();
    let b = image
        .place(
            SegmentRole::Kernel,
            SegmentData::Kernel(0..10),
            0x1001,
            anywhere(1, false),
        )
        .unwrap();
    assert_eq!(image.segments[a].mem, 0x10_0000);
    assert_eq!(image.segments[a].memsz, 0x1000);
    assert_eq!(image.segments[b].mem, 0x10_1000);
    assert_eq!(image.segments[b].memsz, 0x2000);
    let err = image
        .place(
            SegmentRole::Ramdisk,
            SegmentData::Ramdisk,
            0x100_0000,
            anywhere(1, false),
        )
        .unwrap_err();
    assert!(matches!(
        err,
        ImageError::NoRoom {
            role: SegmentRole::Ramdisk,
            ..
        }
    ));
}

#[test]
fn seventeenth_segment_is_refused() {
    let mut image = DomImage::new(vec![], vec![], String::new(), vec![ram(0, 0x100_0000)]);
    for _ in 0..MAX_SEGMENTS {
        image
            .place(
                SegmentRole::Ramdisk,
                SegmentData::Ramdisk,
                1,
                anywhere(1, false),
            )
            .unwrap();
    }
    assert_eq!(
        image.place(
            SegmentRole::Ramdisk,
            SegmentData::Ramdisk,
            1,
            anywhere(1, false)
        ),
        Err(ImageError::TooManySegments)
    );
}

#[test]
fn plan_shows_addresses_in_hex() {
    let mut image = DomImage::new(vec![], vec![7; 3], "ro".into(), vec![ram(0, 0x80_0000)]);
    image
        .place(
            SegmentRole::Ramdisk,
            SegmentData::Ramdisk,
            0,
            anywhere(1, true),
        )
        .unwrap();
    let json = serde_json::to_value(image.plan()).unwrap();
    assert_eq!(
        json["segments"][0],
        serde_json::json!({"role": "ramdisk", "mem": "0x7ff000", "memsz": "0x1000", "reserved": "0x1000", "bufsz": "0x3"})
    );
    assert_eq!(json["cmdline"], "ro");
}

#[test]
fn align_up_checks_overflow_and_power_of_two() {
    assert_eq!(align_up(0x1001, 0x1000), Ok(0x2000));
    assert_eq!(
        align_up(u64::MAX, 0x1000),
        Err(ImageError::Overflow("an aligned size"))
    );
    assert_eq!(align_up(1, 3), Err(ImageError::BadAlignment(3)));
}

#[test]
fn roles_display_as_the_json_plan_spells_them() {
    for role in [
        SegmentRole::Purgatory,
        SegmentRole::BootParams,
        SegmentRole::Kernel,
        SegmentRole::Ramdisk,
    ] {
        assert_eq!(
            serde_json::to_value(role).unwrap(),
            serde_json::Value::String(role.to_string())
        );
    }
}
