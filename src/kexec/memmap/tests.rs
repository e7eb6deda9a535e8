use super::*;

/// `/proc/iomem` of a Debian 6.1 guest under `qemu-system-x86_64 -m 1024` (SeaBIOS).
const QEMU_IOMEM: &str = "\
00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-0009ffff : Reserved
000a0000-000bffff : PCI Bus 0000:00
000c0000-000c99ff : Video ROM
000f0000-000fffff : Reserved
  000f0000-000fffff : System ROM
00100000-3ffdffff : System RAM
  0b000000-0bc02b16 : Kernel code
3ffe0000-3fffffff : Reserved
fd000000-fdffffff : PCI Bus 0000:00
feffc000-feffffff : Reserved
fffc0000-ffffffff : Reserved
";

#[test]
fn iomem_top_level_lines_become_ranges() {
    let ranges = parse_iomem(QEMU_IOMEM);
    let ram: Vec<_> = ranges.iter().filter(|r| r.is_ram()).collect();
    assert_eq!(ram.len(), 2);
    assert_eq!((ram[1].start, ram[1].end), (0x10_0000, 0x3ffe_0000));
    assert!(
        ranges.iter().all(|r| r.start != 0x0b00_0000),
        "nested line kept"
    );
    let pci = ranges.iter().find(|r| r.start == 0xa_0000).unwrap();
    assert_eq!(pci.e820_type, E820_RESERVED);
}

#[test]
fn iomem_without_root_has_no_ram() {
    let text = "00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n";
    assert!(parse_iomem(text).is_empty());
}

#[test]
fn sysfs_entry_end_is_inclusive() {
    let r = parse_sysfs_entry("0x100000\n", "0x3ffdffff\n", "System RAM\n").unwrap();
    assert_eq!(
        r,
        MemRange {
            start: 0x10_0000,
            end: 0x3ffe_0000,
            e820_type: E820_RAM
        }
    );
    assert_eq!(parse_sysfs_entry("zz", "0x1", "System RAM"), None);
    let nvs = parse_sysfs_entry("0x0", "0xfff", "ACPI Non-volatile Storage").unwrap();
    assert_eq!(nvs.e820_type, E820_NVS);
}

#[test]
fn read_prefers_sysfs_and_falls_back_to_iomem() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("proc")).unwrap();
    fs::write(root.path().join("proc/iomem"), QEMU_IOMEM).unwrap();
    let from_iomem = read(root.path()).unwrap();
    assert_eq!(from_iomem.iter().filter(|r| r.is_ram()).count(), 2);

    for (n, (start, end, kind)) in [
        ("0x100000", "0x3ffdffff", "System RAM"),
        ("0x0", "0x9fbff", "System RAM"),
        ("0x9fc00", "0x9ffff", "Reserved"),
    ]
    .iter()
    .enumerate()
    {
        let dir = root.path().join(format!("sys/firmware/memmap/{n}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("start"), format!("{start}\n")).unwrap();
        fs::write(dir.join("end"), format!("{end}\n")).unwrap();
        fs::write(dir.join("type"), format!("{kind}\n")).unwrap();
    }
    let from_sysfs = read(root.path()).unwrap();
    assert_eq!(from_sysfs.len(), 3);
    assert_eq!(from_sysfs[0].start, 0, "sorted by start");
    assert_eq!(from_sysfs[2].end, 0x3ffe_0000);
}

#[test]
fn no_ram_anywhere_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    assert!(matches!(read(root.path()), Err(MemMapError::NoRam { .. })));
}
