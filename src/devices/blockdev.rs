//! The block devices of the running system, or of disk image files, each with what
//! identifies it: filesystem type, UUID and label from its superblock, PARTUUID and
//! PARTLABEL from its disk's partition table. Reads sysfs through a root path so
//! fixture trees can stand in for /sys.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::lvm::{self, label::LabelError};
use super::md::{self, superblock::MdError, MdSuperblock};
use super::partition::{self, PartitionError, PartitionTable, TableKind};
use super::probe::{self, FsInfo, ProbeError};
use super::spec::DeviceSpec;
use crate::printable::printable;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct BlockDevice {
    /// Kernel name (`vda1`), or `IMAGE` / `IMAGE:N` for partitions of an image file.
    pub name: String,
    /// Where to open it: `/dev/vda1`, or the image file.
    pub path: PathBuf,
    /// `(major, minor)`; `None` for image files.
    pub number: Option<(u32, u32)>,
    /// Where the device starts inside `path` (non-zero only for partitions of images).
    pub offset_bytes: u64,
    pub size_bytes: u64,
    /// Name of the whole disk this partition belongs to.
    pub parent: Option<String>,
    pub partition_number: Option<u32>,
    pub partuuid: Option<String>,
    pub partlabel: Option<String>,
    /// For whole disks with a partition table: its type (`gpt`, `dos`) and id.
    pub pttype: Option<&'static str>,
    pub ptuuid: Option<String>,
    pub fs: Option<FsInfo>,
    /// The md superblock, when the device is a member of an md array. Members carry no
    /// filesystem of their own: with 0.90/1.0 metadata the array's contents show at
    /// offset 0, so probing them would find the array's filesystem or PV twice.
    pub md: Option<MdSuperblock>,
    /// The PV uuid, when the device carries an LVM2 label.
    pub lvm_pv: Option<String>,
    /// Why the superblock or partition table could not be read, if it could not
    /// (a [`DeviceProblem`], as text).
    pub problem: Option<String>,
}

/// Why one device could not be identified. The device is still listed, with this
/// (as text) in [`BlockDevice::problem`]; listing the other devices goes on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeviceProblem {
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("md member with a bad superblock: {0}")]
    MdSuperblock(#[source] MdError),
    #[error(transparent)]
    Filesystem(#[from] ProbeError),
    #[error("cannot read the first sectors: {0}")]
    LvmLabelRead(#[source] io::Error),
    #[error("LVM label: {0}")]
    LvmLabel(#[source] LabelError),
    #[error(transparent)]
    PartitionTable(#[from] PartitionError),
    #[error("partition of md member {parent}: ignored, use the array")]
    PartitionOfMdMember { parent: String },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum BlockdevError {
    #[error("cannot list block devices in {path}: {source}")]
    List {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A byte range of a file or device, seen as a device of its own.
pub(crate) struct Window<R> {
    inner: R,
    start: u64,
    len: u64,
    pos: u64,
}

impl<R: Read + Seek> Window<R> {
    pub(crate) fn new(inner: R, start: u64, len: u64) -> Self {
        Window {
            inner,
            start,
            len,
            pos: 0,
        }
    }
}

impl<R: Read + Seek> Read for Window<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        self.inner.seek(SeekFrom::Start(self.start + self.pos))?;
        let n = self.inner.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Window<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the window",
            )
        })?;
        self.pos = target;
        Ok(target)
    }
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn parse_dev_number(text: &str) -> Option<(u32, u32)> {
    let (maj, min) = text.split_once(':')?;
    Some((maj.parse().ok()?, min.parse().ok()?))
}

/// What the device holds: an md member's superblock, else a filesystem, else an LVM
/// label. A damaged md superblock still marks the device as a member (with the
/// problem noted), so its contents are not mistaken for a filesystem of its own.
fn identify_contents(file: &mut File, dev: &mut BlockDevice) {
    if let Err(problem) = read_contents(file, dev) {
        dev.problem = Some(problem.to_string());
    }
}

fn read_contents(file: &mut File, dev: &mut BlockDevice) -> Result<(), DeviceProblem> {
    let mut window = Window::new(&mut *file, dev.offset_bytes, dev.size_bytes);
    if let Some(superblock) =
        md::read_superblock(&mut window, dev.size_bytes).map_err(DeviceProblem::MdSuperblock)?
    {
        dev.md = Some(superblock);
        return Ok(());
    }
    let mut window = Window::new(&mut *file, dev.offset_bytes, dev.size_bytes);
    if let Some(fs) = probe::probe(&mut window, dev.size_bytes)? {
        dev.fs = Some(fs);
        return Ok(());
    }
    let mut window = Window::new(&mut *file, dev.offset_bytes, dev.size_bytes);
    let head_len = dev.size_bytes.min(LVM_LABEL_SCAN_BYTES);
    let mut head = Vec::new();
    (&mut window)
        .take(head_len)
        .read_to_end(&mut head)
        .map_err(DeviceProblem::LvmLabelRead)?;
    if let Some(header) = lvm::label::parse_label(&head).map_err(DeviceProblem::LvmLabel)? {
        dev.lvm_pv = Some(header.uuid);
    }
    Ok(())
}

/// LVM2 writes its label in one of the first four sectors.
const LVM_LABEL_SCAN_BYTES: u64 = 4 * 512;

fn read_table_of(
    file: &mut File,
    size_bytes: u64,
) -> Result<Option<PartitionTable>, DeviceProblem> {
    let mut window = Window::new(file, 0, size_bytes);
    Ok(partition::read_table(&mut window, size_bytes)?)
}

/// Kernel names that are never worth opening: empty RAM disks, unbound loops, and
/// device-mapper or md nodes before they have a table (size 0 catches those).
fn skip_name(name: &str) -> bool {
    name.starts_with("ram") || name.starts_with("zram")
}

/// Lists the block devices sysfs shows under `sys_root` (normally `/sys`), opening
/// their nodes under `dev_root` (normally `/dev`) to read partition tables and
/// superblocks. Devices that cannot be opened are listed with the problem noted.
pub(crate) fn scan(sys_root: &Path, dev_root: &Path) -> Result<Vec<BlockDevice>, BlockdevError> {
    let class = sys_root.join("class/block");
    let entries = fs::read_dir(&class).map_err(|source| BlockdevError::List {
        path: class.clone(),
        source,
    })?;
    let mut devices = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if skip_name(&name) {
            continue;
        }
        let dir = entry.path();
        let sectors: u64 = read_trimmed(&dir.join("size"))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if sectors == 0 {
            continue;
        }
        // kboot's own RAM snapshots (journal replay) show the filesystem of the
        // device under them, with its UUID: that device is the one to find.
        if read_trimmed(&dir.join("dm/name"))
            .is_some_and(|n| n.starts_with(super::dm::snapshot::NAME_PREFIX))
        {
            continue;
        }
        let partition_number = read_trimmed(&dir.join("partition")).and_then(|s| s.parse().ok());
        // A partition's sysfs directory sits inside its disk's directory.
        let parent = if partition_number.is_some() {
            fs::canonicalize(&dir).ok().and_then(|p| {
                p.parent()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
            })
        } else {
            None
        };
        devices.push(BlockDevice {
            path: dev_root.join(&name),
            number: read_trimmed(&dir.join("dev"))
                .as_deref()
                .and_then(parse_dev_number),
            size_bytes: sectors.saturating_mul(512),
            parent,
            partition_number,
            name,
            ..BlockDevice::default()
        });
    }
    devices.sort_by(|a, b| a.name.cmp(&b.name));
    identify(&mut devices);
    Ok(devices)
}

/// Reads partition tables of whole disks (for PARTUUID/PARTLABEL of their partitions)
/// and the superblock of every device.
fn identify(devices: &mut [BlockDevice]) {
    let mut tables: Vec<(String, PartitionTable)> = Vec::new();
    let mut md_disks: Vec<String> = Vec::new();
    for dev in devices.iter_mut() {
        let mut file = match File::open(&dev.path) {
            Ok(f) => f,
            Err(source) => {
                let problem = DeviceProblem::Open {
                    path: dev.path.clone(),
                    source,
                };
                dev.problem = Some(problem.to_string());
                continue;
            }
        };
        identify_contents(&mut file, dev);
        if dev.partition_number.is_some() {
            continue;
        }
        // A whole-disk md member with metadata at the end (0.90, 1.0) starts with the
        // array's own contents: a partition table there is the array's, not the disk's.
        if dev.md.is_some() {
            md_disks.push(dev.name.clone());
            continue;
        }
        match read_table_of(&mut file, dev.size_bytes) {
            Ok(Some(table)) => {
                dev.set_table(&table);
                tables.push((dev.name.clone(), table));
            }
            Ok(None) => {}
            Err(problem) => dev.problem = Some(problem.to_string()),
        }
    }
    for dev in devices.iter_mut() {
        let (Some(parent), Some(number)) = (&dev.parent, dev.partition_number) else {
            continue;
        };
        if md_disks.contains(parent) {
            // The kernel read the array's table off the member: these partitions are
            // views into one member of the array, never devices to use.
            dev.fs = None;
            dev.lvm_pv = None;
            dev.md = None;
            let problem = DeviceProblem::PartitionOfMdMember {
                parent: parent.clone(),
            };
            dev.problem = Some(problem.to_string());
            continue;
        }
        let found = tables
            .iter()
            .filter(|(disk, _)| disk == parent)
            .flat_map(|(_, t)| t.partitions.iter())
            .find(|p| p.number == number);
        if let Some(p) = found {
            dev.partuuid = Some(p.partuuid.clone());
            dev.partlabel = p.partlabel.clone();
        }
    }
}

/// Describes a disk image file: the whole file, then each partition in its table.
pub(crate) fn inspect_image(path: &Path) -> Result<Vec<BlockDevice>, BlockdevError> {
    let open_err = |source| BlockdevError::Open {
        path: path.to_path_buf(),
        source,
    };
    // A FIFO would block, and a directory or character device is no disk.
    let mut file = crate::untrusted::open(path, crate::untrusted::Accept::RegularFileOrBlockDevice)
        .map_err(open_err)?;
    let size_bytes = file.seek(SeekFrom::End(0)).map_err(open_err)?;
    let name = path.display().to_string();
    let mut whole = BlockDevice {
        name: name.clone(),
        path: path.to_path_buf(),
        size_bytes,
        ..BlockDevice::default()
    };
    let table = match read_table_of(&mut file, size_bytes) {
        Ok(t) => {
            if let Some(t) = &t {
                whole.set_table(t);
            }
            t
        }
        Err(problem) => {
            whole.problem = Some(problem.to_string());
            None
        }
    };
    identify_contents(&mut file, &mut whole);
    let mut devices = vec![whole];
    for p in table.iter().flat_map(|t| t.partitions.iter()) {
        let mut dev = BlockDevice {
            name: format!("{name}:{}", p.number),
            path: path.to_path_buf(),
            offset_bytes: p.start_bytes,
            size_bytes: p.size_bytes,
            parent: Some(name.clone()),
            partition_number: Some(p.number),
            partuuid: Some(p.partuuid.clone()),
            partlabel: p.partlabel.clone(),
            ..BlockDevice::default()
        };
        identify_contents(&mut file, &mut dev);
        devices.push(dev);
    }
    Ok(devices)
}

impl BlockDevice {
    fn set_table(&mut self, table: &PartitionTable) {
        self.pttype = Some(match table.kind {
            TableKind::Gpt => "gpt",
            TableKind::Mbr => "dos",
        });
        self.ptuuid = Some(table.disk_id.clone());
    }

    /// A short description for messages: `/dev/vda1 (ext4 LABEL=root UUID=…)`.
    pub(crate) fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(fs) = &self.fs {
            parts.push(fs.fs_type.name().to_string());
        }
        if let Some(l) = self.label() {
            parts.push(format!("LABEL={l}"));
        }
        if let Some(u) = self.uuid() {
            parts.push(format!("UUID={u}"));
        }
        if let Some(p) = &self.partuuid {
            parts.push(format!("PARTUUID={p}"));
        }
        format!("{} ({})", self.name_for_humans(), parts.join(" "))
    }

    fn uuid(&self) -> Option<&str> {
        self.fs.as_ref().and_then(|f| f.uuid.as_deref())
    }

    fn label(&self) -> Option<&str> {
        self.fs.as_ref().and_then(|f| f.label.as_deref())
    }

    /// One line as `blkid` prints it: `/dev/vda1: LABEL="x" UUID="…" TYPE="ext4" …`.
    pub(crate) fn blkid_line(&self) -> String {
        let mut line = format!("{}:", self.name_for_humans());
        let mut field = |key: &str, value: Option<&str>| {
            if let Some(v) = value {
                line.push_str(&format!(" {key}=\"{v}\""));
            }
        };
        field("LABEL", self.label());
        field("UUID", self.uuid());
        if let Some(md) = &self.md {
            field("LABEL", md.name.as_deref());
            field("MD_UUID", Some(md.uuid.as_str()));
            field("TYPE", Some("linux_raid_member"));
        }
        if let Some(pv) = &self.lvm_pv {
            field("UUID", Some(pv.as_str()));
            field("TYPE", Some("LVM2_member"));
        }
        field("TYPE", self.fs.as_ref().map(|f| f.fs_type.name()));
        field("PARTLABEL", self.partlabel.as_deref());
        field("PARTUUID", self.partuuid.as_deref());
        field("PTUUID", self.ptuuid.as_deref());
        field("PTTYPE", self.pttype);
        if let Some(problem) = &self.problem {
            line.push_str(&format!(" (problem: {problem})"));
        }
        // Names and labels come from the disk: a PARTLABEL must not drive the terminal.
        printable(&line).into_owned()
    }

    fn name_for_humans(&self) -> String {
        if self.number.is_some() {
            self.path.display().to_string()
        } else {
            self.name.clone()
        }
    }
}

/// The (major, minor) of a block device node, following links.
fn block_node_number(path: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = fs::metadata(path).ok()?;
    if !meta.file_type().is_block_device() {
        return None;
    }
    let rdev = meta.rdev();
    Some((libc::major(rdev), libc::minor(rdev)))
}

/// Finds the device a `root=`/`boot=` value names. `dev_root` resolves `/dev/...` links
/// such as `/dev/md/root` to their kernel names.
pub(crate) fn find<'a>(
    devices: &'a [BlockDevice],
    spec: &DeviceSpec,
    dev_root: &Path,
) -> Option<&'a BlockDevice> {
    match spec {
        DeviceSpec::Path(path) => {
            let relative = path.strip_prefix("/dev/").unwrap_or(path);
            let wanted = dev_root.join(relative);
            // /dev/mapper/NAME and /dev/VG/LV are nodes or links kboot made itself:
            // the device number behind them says which device they are.
            if let Some(number) = block_node_number(&wanted) {
                if let Some(found) = devices.iter().find(|d| d.number == Some(number)) {
                    return Some(found);
                }
            }
            let resolved = fs::canonicalize(&wanted).unwrap_or(wanted.clone());
            devices.iter().find(|d| {
                d.path == wanted
                    || d.path == resolved
                    || fs::canonicalize(&d.path).ok().as_ref() == Some(&resolved)
            })
        }
        DeviceSpec::Uuid(uuid) => devices
            .iter()
            .find(|d| d.uuid().is_some_and(|u| u.eq_ignore_ascii_case(uuid))),
        DeviceSpec::Label(label) => devices.iter().find(|d| d.label() == Some(label.as_str())),
        DeviceSpec::PartLabel(label) => devices
            .iter()
            .find(|d| d.partlabel.as_deref() == Some(label.as_str())),
        DeviceSpec::Number { major, minor } => {
            devices.iter().find(|d| d.number == Some((*major, *minor)))
        }
        DeviceSpec::PartUuid { uuid, offset } => {
            let base = devices.iter().find(|d| {
                d.partuuid
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(uuid))
            })?;
            if *offset == 0 {
                return Some(base);
            }
            let number = base.partition_number?.checked_add_signed(*offset)?;
            devices
                .iter()
                .find(|d| d.parent == base.parent && d.partition_number == Some(number))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
