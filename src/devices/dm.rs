//! The device-mapper ioctl edge: creates read-only DM devices from planned tables
//! (`lvm::table`) through `/dev/mapper/control`, the way libdevmapper does, without it.
//!
//! The request layout is `struct dm_ioctl` and `struct dm_target_spec` from the kernel's
//! `include/uapi/linux/dm-ioctl.h` (interface 4.x): a 312-byte header, then the target
//! specs, each followed by its NUL-terminated parameter string padded to 8 bytes.
//! Requests are built and replies read by pure functions; the one `ioctl(2)` call sits in
//! [`ControlFile`], behind the [`DmControl`] trait so the sequence can be tested with a
//! recording backend. See section 2 of `storage-formats.md`.
#![allow(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use thiserror::Error;

use crate::bytes::{ne32, ne64, put_ne32, put_ne64};

use super::lvm::table::{DevNumber, DmTable, LvActivation};

pub(crate) mod loop_store;
pub(crate) mod snapshot;

/// `sizeof(struct dm_ioctl)`.
pub(crate) const DM_IOCTL_HEADER_BYTES: usize = 312;
/// `sizeof(struct dm_target_spec)`.
pub(crate) const DM_TARGET_SPEC_BYTES: usize = 40;
const DM_NAME_LEN: usize = 128;
const DM_UUID_LEN: usize = 129;
const DM_MAX_TYPE_NAME: usize = 16;
const NAME_OFFSET: usize = 48;
const UUID_OFFSET: usize = NAME_OFFSET + DM_NAME_LEN;
/// The interface version kboot speaks: major 4, and nothing newer than 4.0 needed.
pub(crate) const DM_INTERFACE_VERSION: [u32; 3] = [4, 0, 0];
pub(crate) const DM_READONLY_FLAG: u32 = 1 << 0;
/// The misc device number of `/dev/mapper/control` (`MAPPER_CTRL_MINOR`).
pub(crate) const DM_CONTROL_NUMBER: DevNumber = DevNumber {
    major: 10,
    minor: 236,
};

/// The ioctls kboot uses (`enum` in dm-ioctl.h gives the numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DmCommand {
    Version = 0,
    DevCreate = 3,
    DevRemove = 4,
    DevSuspend = 6,
    TableLoad = 9,
}

impl DmCommand {
    pub(crate) fn name(self) -> &'static str {
        match self {
            DmCommand::Version => "DM_VERSION",
            DmCommand::DevCreate => "DM_DEV_CREATE",
            DmCommand::DevRemove => "DM_DEV_REMOVE",
            DmCommand::DevSuspend => "DM_DEV_SUSPEND",
            DmCommand::TableLoad => "DM_TABLE_LOAD",
        }
    }

    /// `_IOWR(DM_IOCTL, cmd, struct dm_ioctl)`.
    pub(crate) const fn request(self) -> u32 {
        const IOC_READ_WRITE: u32 = 3;
        const DM_IOCTL: u32 = 0xfd;
        (IOC_READ_WRITE << 30)
            | ((DM_IOCTL_HEADER_BYTES as u32) << 16)
            | (DM_IOCTL << 8)
            | self as u32
    }
}

#[derive(Debug, Error)]
pub(crate) enum DmError {
    #[error("invalid device-mapper name {name:?}: {why}")]
    BadName { name: String, why: &'static str },
    #[error("invalid device-mapper uuid {uuid:?}: {why}")]
    BadUuid { uuid: String, why: &'static str },
    #[error("{ioctl} for {name:?} failed: {source}")]
    Ioctl {
        ioctl: &'static str,
        name: String,
        #[source]
        source: io::Error,
    },
    #[error("{ioctl} for {name:?}: reply of {len} bytes is shorter than the header")]
    ShortReply {
        ioctl: &'static str,
        name: String,
        len: usize,
    },
    #[error("kernel device-mapper interface is {found:?}; kboot needs 4.x")]
    Version { found: [u32; 3] },
    #[error("target parameters {params:?} are too long or contain a NUL byte")]
    BadTarget { params: String },
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot create {path}: {source}")]
    Node {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A DM device name: what `/dev/mapper/` shows. The kernel takes up to 127 bytes, and
/// no '/'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DmName(String);

impl DmName {
    pub(crate) fn new(name: &str) -> Result<Self, DmError> {
        let why = if name.is_empty() {
            Some("empty")
        } else if name.len() >= DM_NAME_LEN {
            Some("longer than 127 bytes")
        } else if name.contains('/') || name.contains('\0') {
            Some("contains '/' or NUL")
        } else if name == "." || name == ".." || name == "control" {
            Some("reserved")
        } else {
            None
        };
        match why {
            Some(why) => Err(DmError::BadName {
                name: name.to_string(),
                why,
            }),
            None => Ok(DmName(name.to_string())),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A DM device uuid (`LVM-...` for LVs): up to 128 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DmUuid(String);

impl DmUuid {
    pub(crate) fn new(uuid: &str) -> Result<Self, DmError> {
        let why = if uuid.is_empty() {
            Some("empty")
        } else if uuid.len() >= DM_UUID_LEN {
            Some("longer than 128 bytes")
        } else if uuid.contains('\0') {
            Some("contains NUL")
        } else {
            None
        };
        match why {
            Some(why) => Err(DmError::BadUuid {
                uuid: uuid.to_string(),
                why,
            }),
            None => Ok(DmUuid(uuid.to_string())),
        }
    }
}

/// The fields of `struct dm_ioctl` a request sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DmRequest {
    pub flags: u32,
    pub name: Option<DmName>,
    pub uuid: Option<DmUuid>,
}

impl DmRequest {
    pub(crate) fn new() -> Self {
        DmRequest::default()
    }

    pub(crate) fn name(mut self, name: &DmName) -> Self {
        self.name = Some(name.clone());
        self
    }

    pub(crate) fn uuid(mut self, uuid: &DmUuid) -> Self {
        self.uuid = Some(uuid.clone());
        self
    }

    pub(crate) fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
}

/// The target specs of a table: for each line a 40-byte `dm_target_spec` (start,
/// length, status 0, `next` = distance to the next spec, type name), then the
/// parameters, NUL-terminated and padded to 8 bytes.
pub(crate) fn encode_targets(table: &DmTable) -> Result<Vec<u8>, DmError> {
    let mut out = Vec::new();
    for line in &table.lines {
        let params = line.target.params();
        if params.contains('\0') {
            return Err(DmError::BadTarget { params });
        }
        let params_len = (params.len() + 1).next_multiple_of(8);
        let next =
            u32::try_from(DM_TARGET_SPEC_BYTES + params_len).map_err(|_| DmError::BadTarget {
                params: params.clone(),
            })?;
        let mut spec = [0u8; DM_TARGET_SPEC_BYTES];
        put_ne64(&mut spec, 0, line.start_sector);
        put_ne64(&mut spec, 8, line.length_sectors);
        put_ne32(&mut spec, 20, next);
        let type_name = line.target.type_name().as_bytes();
        // Type names are our own short constants ("linear", "striped").
        spec[24..24 + type_name.len().min(DM_MAX_TYPE_NAME - 1)]
            .copy_from_slice(&type_name[..type_name.len().min(DM_MAX_TYPE_NAME - 1)]);
        out.extend_from_slice(&spec);
        out.extend_from_slice(params.as_bytes());
        out.resize(out.len() + params_len - params.len(), 0);
    }
    Ok(out)
}

/// A whole ioctl buffer: the 312-byte header (version 4.0.0, `data_size`, `data_start`
/// = 312, `target_count`, flags, name, uuid) followed by `data`.
pub(crate) fn build_request(request: &DmRequest, target_count: u32, data: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; DM_IOCTL_HEADER_BYTES + data.len()];
    for (i, v) in DM_INTERFACE_VERSION.iter().enumerate() {
        put_ne32(&mut buf, i * 4, *v);
    }
    // A request bigger than 4 GiB cannot be built from an LV table; saturate anyway.
    let data_size = u32::try_from(buf.len()).unwrap_or(u32::MAX);
    put_ne32(&mut buf, 12, data_size);
    put_ne32(&mut buf, 16, DM_IOCTL_HEADER_BYTES as u32);
    put_ne32(&mut buf, 20, target_count);
    put_ne32(&mut buf, 28, request.flags);
    if let Some(name) = &request.name {
        buf[NAME_OFFSET..NAME_OFFSET + name.0.len()].copy_from_slice(name.0.as_bytes());
    }
    if let Some(uuid) = &request.uuid {
        buf[UUID_OFFSET..UUID_OFFSET + uuid.0.len()].copy_from_slice(uuid.0.as_bytes());
    }
    buf[DM_IOCTL_HEADER_BYTES..].copy_from_slice(data);
    buf
}

/// What the kernel writes back into the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DmReply {
    pub version: [u32; 3],
    pub flags: u32,
    pub target_count: u32,
    pub open_count: i32,
    pub dev: DevNumber,
}

pub(crate) fn parse_reply(buf: &[u8]) -> Option<DmReply> {
    if buf.len() < DM_IOCTL_HEADER_BYTES {
        return None;
    }
    Some(DmReply {
        version: [ne32(buf, 0), ne32(buf, 4), ne32(buf, 8)],
        target_count: ne32(buf, 20),
        open_count: ne32(buf, 24) as i32,
        flags: ne32(buf, 28),
        dev: decode_dev(ne64(buf, 40)),
    })
}

/// The kernel's `huge_encode_dev` form of a device number, as `dm_ioctl.dev` holds it.
pub(crate) fn decode_dev(dev: u64) -> DevNumber {
    DevNumber {
        major: ((dev >> 8) & 0xfff) as u32,
        minor: ((dev & 0xff) | ((dev >> 12) & 0xfff_ff00)) as u32,
    }
}

#[cfg(test)]
pub(crate) fn encode_dev(dev: DevNumber) -> u64 {
    let (major, minor) = (u64::from(dev.major), u64::from(dev.minor));
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12)
}

/// Sends one DM ioctl; the kernel rewrites the buffer's header in place.
pub(crate) trait DmControl {
    fn ioctl(&mut self, command: DmCommand, buf: &mut [u8]) -> io::Result<()>;
}

/// `/dev/mapper/control`, opened.
pub(crate) struct ControlFile(File);

impl DmControl for ControlFile {
    fn ioctl(&mut self, command: DmCommand, buf: &mut [u8]) -> io::Result<()> {
        if buf.len() < DM_IOCTL_HEADER_BYTES {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: the fd is open for the life of `self`; `buf` is a live, writable
        // buffer at least as long as the `data_size` its header declares (build_request
        // sets data_size to the buffer length), and the kernel writes back at most
        // data_size bytes. All DM ioctls take a `struct dm_ioctl *`.
        let rc = unsafe {
            libc::ioctl(
                self.0.as_raw_fd(),
                command.request() as libc::Ioctl,
                buf.as_mut_ptr(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Device-mapper through a control backend: one method per ioctl.
pub(crate) struct DeviceMapper<C> {
    control: C,
}

impl<C: DmControl> DeviceMapper<C> {
    pub(crate) fn new(control: C) -> Self {
        DeviceMapper { control }
    }

    #[cfg(test)]
    pub(crate) fn into_control(self) -> C {
        self.control
    }

    fn call(
        &mut self,
        command: DmCommand,
        label: &str,
        mut buf: Vec<u8>,
    ) -> Result<DmReply, DmError> {
        self.control
            .ioctl(command, &mut buf)
            .map_err(|source| DmError::Ioctl {
                ioctl: command.name(),
                name: label.to_string(),
                source,
            })?;
        parse_reply(&buf).ok_or(DmError::ShortReply {
            ioctl: command.name(),
            name: label.to_string(),
            len: buf.len(),
        })
    }

    /// DM_VERSION: the kernel's interface version, which must be 4.x.
    pub(crate) fn version(&mut self) -> Result<[u32; 3], DmError> {
        let reply = self.call(
            DmCommand::Version,
            "",
            build_request(&DmRequest::new(), 0, &[]),
        )?;
        if reply.version[0] != DM_INTERFACE_VERSION[0] {
            return Err(DmError::Version {
                found: reply.version,
            });
        }
        Ok(reply.version)
    }

    /// DM_DEV_CREATE: a new device with no table yet.
    pub(crate) fn create(&mut self, name: &DmName, uuid: &DmUuid) -> Result<DevNumber, DmError> {
        let request = DmRequest::new().name(name).uuid(uuid);
        Ok(self
            .call(
                DmCommand::DevCreate,
                name.as_str(),
                build_request(&request, 0, &[]),
            )?
            .dev)
    }

    /// DM_TABLE_LOAD into the inactive slot; read-only sets DM_READONLY_FLAG.
    pub(crate) fn load_table(
        &mut self,
        name: &DmName,
        table: &DmTable,
        read_only: bool,
    ) -> Result<(), DmError> {
        let data = encode_targets(table)?;
        let flags = if read_only { DM_READONLY_FLAG } else { 0 };
        let request = DmRequest::new().name(name).flags(flags);
        let count = u32::try_from(table.lines.len()).unwrap_or(u32::MAX);
        self.call(
            DmCommand::TableLoad,
            name.as_str(),
            build_request(&request, count, &data),
        )?;
        Ok(())
    }

    /// DM_DEV_SUSPEND without DM_SUSPEND_FLAG: resume, making the loaded table live.
    pub(crate) fn resume(&mut self, name: &DmName) -> Result<DevNumber, DmError> {
        let request = DmRequest::new().name(name);
        Ok(self
            .call(
                DmCommand::DevSuspend,
                name.as_str(),
                build_request(&request, 0, &[]),
            )?
            .dev)
    }

    /// DM_DEV_REMOVE.
    pub(crate) fn remove(&mut self, name: &DmName) -> Result<(), DmError> {
        let request = DmRequest::new().name(name);
        self.call(
            DmCommand::DevRemove,
            name.as_str(),
            build_request(&request, 0, &[]),
        )?;
        Ok(())
    }

    /// Creates the LV's device read-only: create, load, resume. If loading or resuming
    /// fails the half-made device is removed again. Returns the device number.
    pub(crate) fn activate(&mut self, lv: &LvActivation) -> Result<DevNumber, DmError> {
        let name = DmName::new(&lv.dm_name)?;
        let uuid = DmUuid::new(&lv.dm_uuid)?;
        self.create(&name, &uuid)?;
        let result = self
            .load_table(&name, &lv.table, true)
            .and_then(|()| self.resume(&name));
        if result.is_err() {
            // The original error is what matters; a failed cleanup leaves a device
            // without a table, which nothing will open.
            let _ = self.remove(&name);
        }
        result
    }
}

/// Opens `/dev/mapper/control` under `dev_root`, creating the node if devtmpfs did not
/// (its number comes from `sys_root/class/misc/device-mapper/dev`, else 10:236). The
/// `dm_mod` module must be loaded first. Checks the interface version.
pub(crate) fn open_control(
    dev_root: &Path,
    sys_root: &Path,
) -> Result<DeviceMapper<ControlFile>, DmError> {
    let mapper = dev_root.join("mapper");
    let path = mapper.join("control");
    if !path.exists() {
        let number = fs::read_to_string(sys_root.join("class/misc/device-mapper/dev"))
            .ok()
            .and_then(|s| s.trim().parse::<DevNumber>().ok())
            .unwrap_or(DM_CONTROL_NUMBER);
        let node_err = |source| DmError::Node {
            path: path.clone(),
            source,
        };
        fs::create_dir_all(&mapper).map_err(node_err)?;
        mknod(
            &path,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o600),
            makedev(u64::from(number.major), u64::from(number.minor)),
        )
        .map_err(|e| node_err(io::Error::from(e)))?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|source| DmError::Open {
            path: path.clone(),
            source,
        })?;
    let mut dm = DeviceMapper::new(ControlFile(file));
    dm.version()?;
    Ok(dm)
}

/// Creates `/dev/mapper/NAME` under `dev_root`, a block node for `dev`, replacing a
/// stale one. Returns its path.
pub(crate) fn make_mapper_node(
    dev_root: &Path,
    name: &DmName,
    dev: DevNumber,
) -> Result<PathBuf, DmError> {
    let node = dev_root.join("mapper").join(name.as_str());
    let node_err = |source| DmError::Node {
        path: node.clone(),
        source,
    };
    fs::create_dir_all(dev_root.join("mapper")).map_err(node_err)?;
    if node.symlink_metadata().is_ok() {
        fs::remove_file(&node).map_err(node_err)?;
    }
    mknod(
        &node,
        SFlag::S_IFBLK,
        Mode::from_bits_truncate(0o600),
        makedev(u64::from(dev.major), u64::from(dev.minor)),
    )
    .map_err(|e| node_err(io::Error::from(e)))?;
    Ok(node)
}

/// Creates `/dev/mapper/NAME` (a block node for `dev`) and the other links of the plan
/// (`/dev/VG/LV`, as symlinks to `../mapper/NAME`) under `dev_root`, replacing stale
/// ones.
pub(crate) fn make_nodes(
    dev_root: &Path,
    lv: &LvActivation,
    dev: DevNumber,
) -> Result<(), DmError> {
    let name = DmName::new(&lv.dm_name)?;
    let node_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DmError::Node { path, source }
    };
    make_mapper_node(dev_root, &name, dev)?;
    let mapper_link = format!("/dev/mapper/{}", name.as_str());
    for link in lv.links.iter().filter(|l| **l != mapper_link) {
        let relative = link.strip_prefix("/dev/").unwrap_or(link);
        let path = dev_root.join(relative);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(node_err(&path))?;
        }
        if path.symlink_metadata().is_ok() {
            fs::remove_file(&path).map_err(node_err(&path))?;
        }
        let depth = relative.matches('/').count();
        let target = format!("{}mapper/{}", "../".repeat(depth), name.as_str());
        std::os::unix::fs::symlink(&target, &path).map_err(node_err(&path))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
