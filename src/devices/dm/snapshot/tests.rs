use std::cell::RefCell;
use std::rc::Rc;

use super::*;
use crate::bytes::{ne32, put_ne32, put_ne64};
use crate::devices::dm::{encode_dev, DmCommand, DM_IOCTL_HEADER_BYTES};

const GIB: u64 = 1 << 30;

fn dev(major: u32, minor: u32) -> DevNumber {
    DevNumber { major, minor }
}

fn vda1_plan() -> SnapshotPlan {
    plan("vda1", Some(dev(254, 1)), 0, 2 * GIB, 8 * GIB).unwrap()
}

/// One log for both backends, so the order across them is checked.
type Log = Rc<RefCell<Vec<String>>>;

/// Answers DM ioctls like the kernel for a device 253:7; records each with its
/// flags and, for a table load, the table line sent.
struct Dm {
    log: Log,
    fail: Option<DmCommand>,
}

impl DmControl for Dm {
    fn ioctl(&mut self, command: DmCommand, buf: &mut [u8]) -> io::Result<()> {
        let name_end = buf[48..176].iter().position(|&b| b == 0).unwrap();
        let name = String::from_utf8(buf[48..48 + name_end].to_vec()).unwrap();
        let mut entry = format!("{} {name} flags={}", command.name(), ne32(buf, 28));
        if command == DmCommand::TableLoad {
            let spec = &buf[DM_IOCTL_HEADER_BYTES..];
            let type_end = spec[24..40].iter().position(|&b| b == 0).unwrap();
            let params = &spec[40..];
            let params_end = params.iter().position(|&b| b == 0).unwrap();
            entry.push_str(&format!(
                " {} {}",
                std::str::from_utf8(&spec[24..24 + type_end]).unwrap(),
                std::str::from_utf8(&params[..params_end]).unwrap()
            ));
        }
        self.log.borrow_mut().push(entry);
        if self.fail == Some(command) {
            return Err(io::Error::from_raw_os_error(libc::ENXIO));
        }
        put_ne32(buf, 0, 4);
        put_ne64(buf, 40, encode_dev(dev(253, 7)));
        Ok(())
    }
}

/// Hands out loop devices 7:N.
struct Stores {
    log: Log,
    next: u32,
    fail_create: bool,
}

impl RamStores for Stores {
    type Store = u32;

    fn create(&mut self, size_bytes: u64) -> Result<(u32, DevNumber), SnapshotError> {
        self.log
            .borrow_mut()
            .push(format!("store create {size_bytes}"));
        if self.fail_create {
            return Err(SnapshotError::Memfd {
                source: io::Error::from_raw_os_error(libc::ENOMEM),
            });
        }
        let n = self.next;
        self.next += 1;
        Ok((n, dev(7, n)))
    }

    fn destroy(&mut self, store: u32) -> Result<(), SnapshotError> {
        self.log
            .borrow_mut()
            .push(format!("store destroy 7:{store}"));
        Ok(())
    }
}

fn backends(fail: Option<DmCommand>, fail_create: bool) -> (Log, DeviceMapper<Dm>, Stores) {
    let log = Log::default();
    let dm = DeviceMapper::new(Dm {
        log: log.clone(),
        fail,
    });
    let stores = Stores {
        log: log.clone(),
        next: 0,
        fail_create,
    };
    (log, dm, stores)
}

#[test]
fn snapshot_table_is_one_non_persistent_line_over_the_whole_origin() {
    let plan = vda1_plan();
    assert_eq!(plan.name.as_str(), "kboot-replay-vda1");
    assert_eq!(plan.origin_sectors, 4_194_304);
    assert_eq!(
        plan.table(dev(7, 0)).to_string(),
        "0 4194304 snapshot 254:1 7:0 N 8\n"
    );
}

#[test]
fn store_is_as_large_as_the_origin_but_at_most_half_the_free_memory() {
    assert_eq!(vda1_plan().cow_bytes, 2 * GIB);
    let small_ram = plan("vda1", Some(dev(254, 1)), 0, 20 * GIB, GIB + 4097).unwrap();
    assert_eq!(small_ram.cow_bytes, GIB / 2, "rounded down to whole chunks");
    let meminfo = "MemTotal:        4024528 kB\nMemFree:  100 kB\nMemAvailable:    3712340 kB\n";
    assert_eq!(mem_available_bytes(meminfo), Some(3_712_340 * 1024));
    assert_eq!(mem_available_bytes("MemFree: 100 kB\n"), None);
    assert_eq!(mem_available_bytes("MemAvailable: lots\n"), None);
}

#[test]
fn devices_that_cannot_carry_a_snapshot_are_refused_with_the_reason() {
    let refused = |r: Result<SnapshotPlan, SnapshotError>| r.unwrap_err().to_string();
    assert_eq!(
        refused(plan("disk.img:1", None, 0, GIB, 8 * GIB)),
        "disk.img:1 cannot carry a RAM snapshot: it is not a block device"
    );
    assert!(refused(plan("loop0", Some(dev(7, 0)), 1 << 20, GIB, 8 * GIB)).contains("window"));
    assert!(refused(plan("vda1", Some(dev(254, 1)), 0, 0, 8 * GIB)).contains("empty"));
    assert_eq!(
        refused(plan("vda1", Some(dev(254, 1)), 0, GIB, 20 << 20)),
        "vda1 cannot carry a RAM snapshot: only 10 MiB of memory is available for the \
         copy-on-write store (needs 16 MiB)"
    );
    let slashed = plan("cciss/c0d0p1", Some(dev(104, 1)), 0, GIB, 8 * GIB).unwrap();
    assert_eq!(slashed.name.as_str(), "kboot-replay-cciss_c0d0p1");
}

#[test]
fn creation_makes_the_store_then_creates_loads_read_write_and_resumes() {
    let (log, mut dm, mut stores) = backends(None, false);
    let snapshot = create(&mut dm, &mut stores, vda1_plan()).unwrap();
    assert_eq!(snapshot.dev, dev(253, 7));
    assert_eq!(
        *log.borrow(),
        [
            "store create 2147483648",
            "DM_DEV_CREATE kboot-replay-vda1 flags=0",
            // Read-write: the replay writes, into the RAM store only.
            "DM_TABLE_LOAD kboot-replay-vda1 flags=0 snapshot 254:1 7:0 N 8",
            "DM_DEV_SUSPEND kboot-replay-vda1 flags=0",
        ]
    );
    log.borrow_mut().clear();
    remove(&mut dm, &mut stores, snapshot).unwrap();
    assert_eq!(
        *log.borrow(),
        [
            "DM_DEV_REMOVE kboot-replay-vda1 flags=0",
            "store destroy 7:0"
        ],
        "the DM device goes before the store it sits on"
    );
}

#[test]
fn a_failed_step_takes_down_what_was_made_and_reports_the_ioctl() {
    for (failing, expected) in [
        (
            DmCommand::DevCreate,
            vec!["DM_DEV_CREATE", "store destroy 7:0"],
        ),
        (
            DmCommand::TableLoad,
            vec![
                "DM_DEV_CREATE",
                "DM_TABLE_LOAD",
                "DM_DEV_REMOVE",
                "store destroy 7:0",
            ],
        ),
        (
            DmCommand::DevSuspend,
            vec![
                "DM_DEV_CREATE",
                "DM_TABLE_LOAD",
                "DM_DEV_SUSPEND",
                "DM_DEV_REMOVE",
                "store destroy 7:0",
            ],
        ),
    ] {
        let (log, mut dm, mut stores) = backends(Some(failing), false);
        let err = create(&mut dm, &mut stores, vda1_plan()).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "device-mapper: {} for \"kboot-replay-vda1\" failed",
                failing.name()
            )),
            "{err}"
        );
        let steps: Vec<String> = log.borrow()[1..]
            .iter()
            .map(|l| {
                if l.starts_with("store") {
                    l.clone()
                } else {
                    l.split(' ').next().unwrap().to_string()
                }
            })
            .collect();
        assert_eq!(steps, expected, "{failing:?}");
    }
}

#[test]
fn a_store_that_cannot_be_made_stops_before_device_mapper() {
    let (log, mut dm, mut stores) = backends(None, true);
    let err = create(&mut dm, &mut stores, vda1_plan()).unwrap_err();
    assert!(matches!(err, SnapshotError::Memfd { .. }), "{err}");
    assert_eq!(*log.borrow(), ["store create 2147483648"]);
}
