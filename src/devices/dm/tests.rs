use super::*;
use crate::devices::lvm::table::{TableLine, Target};

#[test]
fn ioctl_numbers_match_the_uapi_header() {
    assert_eq!(DmCommand::Version.request(), 0xc138_fd00);
    assert_eq!(DmCommand::DevCreate.request(), 0xc138_fd03);
    assert_eq!(DmCommand::DevRemove.request(), 0xc138_fd04);
    assert_eq!(DmCommand::DevSuspend.request(), 0xc138_fd06);
    assert_eq!(DmCommand::TableLoad.request(), 0xc138_fd09);
}

fn table() -> DmTable {
    "0 8192 linear 7:0 2048\n8192 16384 striped 2 128 7:0 10240 259:1 2048\n"
        .parse()
        .unwrap()
}

#[test]
fn request_header_layout() {
    let name = DmName::new("sys--vg-root").unwrap();
    let uuid = DmUuid::new("LVM-abc").unwrap();
    let buf = build_request(
        &DmRequest::new()
            .name(&name)
            .uuid(&uuid)
            .flags(DM_READONLY_FLAG),
        2,
        &[0xaa; 16],
    );
    assert_eq!(buf.len(), 312 + 16);
    assert_eq!(ne32(&buf, 0), 4);
    assert_eq!(ne32(&buf, 4), 0);
    assert_eq!(ne32(&buf, 12), 328, "data_size covers header and data");
    assert_eq!(ne32(&buf, 16), 312, "data_start");
    assert_eq!(ne32(&buf, 20), 2, "target_count");
    assert_eq!(ne32(&buf, 28), 1, "flags");
    assert_eq!(&buf[48..60], b"sys--vg-root");
    assert_eq!(buf[60], 0);
    assert_eq!(&buf[176..183], b"LVM-abc");
    assert_eq!(buf[183], 0);
    assert_eq!(&buf[312..], &[0xaa; 16]);
}

#[test]
fn target_specs_are_padded_to_8_and_chained_by_next() {
    let data = encode_targets(&table()).unwrap();
    // "7:0 2048" + NUL = 9 bytes -> 16.
    assert_eq!(ne64(&data, 0), 0);
    assert_eq!(ne64(&data, 8), 8192);
    assert_eq!(ne32(&data, 16), 0, "status");
    assert_eq!(ne32(&data, 20), 56, "next");
    assert_eq!(&data[24..31], b"linear\0");
    assert_eq!(&data[40..49], b"7:0 2048\0");
    let second = &data[56..];
    assert_eq!(ne64(second, 0), 8192);
    assert_eq!(ne64(second, 8), 16384);
    assert_eq!(&second[24..32], b"striped\0");
    let params = b"2 128 7:0 10240 259:1 2048";
    assert_eq!(&second[40..40 + params.len()], params);
    let padded = (params.len() + 1).next_multiple_of(8);
    assert_eq!(ne32(second, 20) as usize, 40 + padded);
    assert_eq!(data.len(), 56 + 40 + padded);
    assert_eq!(data.len() % 8, 0);
}

#[test]
fn dev_numbers_use_the_kernel_huge_encoding() {
    for (major, minor) in [(253, 0), (254, 3), (259, 1_048_575), (7, 256)] {
        let d = DevNumber { major, minor };
        assert_eq!(decode_dev(encode_dev(d)), d);
    }
    assert_eq!(
        encode_dev(DevNumber {
            major: 254,
            minor: 1
        }),
        0xfe01
    );
    assert_eq!(
        decode_dev(0x0010_fe01),
        DevNumber {
            major: 254,
            minor: 0x101
        }
    );
}

#[test]
fn names_are_validated() {
    assert!(DmName::new("vg-lv").is_ok());
    assert!(DmName::new("").is_err());
    assert!(DmName::new("a/b").is_err());
    assert!(DmName::new(&"x".repeat(128)).is_err());
    assert!(DmName::new(&"x".repeat(127)).is_ok());
    assert!(DmUuid::new(&"u".repeat(129)).is_err());
    assert!(DmUuid::new(&"u".repeat(128)).is_ok());
}

/// Records requests; answers like the kernel would for a device 254:N.
#[derive(Default)]
struct Recorder {
    calls: Vec<(DmCommand, String, u32)>,
    fail: Option<DmCommand>,
}

impl DmControl for Recorder {
    fn ioctl(&mut self, command: DmCommand, buf: &mut [u8]) -> io::Result<()> {
        let name_end = buf[48..176].iter().position(|&b| b == 0).unwrap();
        let name = String::from_utf8(buf[48..48 + name_end].to_vec()).unwrap();
        self.calls.push((command, name, ne32(buf, 28)));
        if self.fail == Some(command) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        put_ne32(buf, 4, 47);
        put_ne64(
            buf,
            40,
            encode_dev(DevNumber {
                major: 254,
                minor: 3,
            }),
        );
        Ok(())
    }
}

fn activation() -> LvActivation {
    LvActivation {
        vg: "sys-vg".into(),
        lv: "root".into(),
        dm_name: "sys--vg-root".into(),
        dm_uuid: "LVM-x".into(),
        table: DmTable {
            lines: vec![TableLine {
                start_sector: 0,
                length_sectors: 8,
                target: Target::Linear {
                    device: DevNumber { major: 7, minor: 0 },
                    offset_sectors: 2048,
                },
            }],
        },
        links: vec!["/dev/mapper/sys--vg-root".into(), "/dev/sys-vg/root".into()],
    }
}

#[test]
fn activation_creates_loads_read_only_and_resumes() {
    let mut dm = DeviceMapper::new(Recorder::default());
    assert_eq!(dm.version().unwrap(), [4, 47, 0]);
    let dev = dm.activate(&activation()).unwrap();
    assert_eq!(
        dev,
        DevNumber {
            major: 254,
            minor: 3
        }
    );
    let calls = dm.into_control().calls;
    let n = || "sys--vg-root".to_string();
    assert_eq!(
        calls,
        vec![
            (DmCommand::Version, String::new(), 0),
            (DmCommand::DevCreate, n(), 0),
            (DmCommand::TableLoad, n(), DM_READONLY_FLAG),
            (DmCommand::DevSuspend, n(), 0),
        ]
    );
}

#[test]
fn failed_load_removes_the_device_and_names_ioctl_and_errno() {
    let mut dm = DeviceMapper::new(Recorder {
        fail: Some(DmCommand::TableLoad),
        ..Recorder::default()
    });
    let err = dm.activate(&activation()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "DM_TABLE_LOAD for \"sys--vg-root\" failed: Invalid argument (os error 22)"
    );
    let commands: Vec<_> = dm.into_control().calls.iter().map(|c| c.0).collect();
    assert_eq!(
        commands,
        vec![
            DmCommand::DevCreate,
            DmCommand::TableLoad,
            DmCommand::DevRemove
        ]
    );
}

#[test]
fn wrong_interface_major_is_refused() {
    struct Five;
    impl DmControl for Five {
        fn ioctl(&mut self, _: DmCommand, buf: &mut [u8]) -> io::Result<()> {
            put_ne32(buf, 0, 5);
            Ok(())
        }
    }
    let err = DeviceMapper::new(Five).version().unwrap_err();
    assert!(
        matches!(err, DmError::Version { found: [5, 0, 0] }),
        "{err}"
    );
}

#[test]
fn nodes_and_links_are_made_under_dev_root() {
    let tmp = tempfile::tempdir().unwrap();
    let lv = activation();
    let dev = DevNumber {
        major: 254,
        minor: 3,
    };
    make_nodes(tmp.path(), &lv, dev).unwrap();
    // Again: stale nodes are replaced.
    make_nodes(tmp.path(), &lv, dev).unwrap();
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = fs::metadata(tmp.path().join("mapper/sys--vg-root")).unwrap();
    assert!(meta.file_type().is_block_device());
    assert_eq!(meta.rdev(), makedev(254, 3));
    assert_eq!(
        fs::read_link(tmp.path().join("sys-vg/root")).unwrap(),
        PathBuf::from("../mapper/sys--vg-root")
    );
    assert!(fs::metadata(tmp.path().join("sys-vg/root"))
        .unwrap()
        .file_type()
        .is_block_device());
}
