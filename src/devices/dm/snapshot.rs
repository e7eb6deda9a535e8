//! Replaying a journal without writing the disk: a device-mapper `snapshot` target over
//! the filesystem's device, its copy-on-write store in RAM (as petitboot does). The
//! kernel's journal replay (ext3/4) or log recovery (XFS) then writes only into RAM,
//! and kboot reads the filesystem as the OS will see it after its own replay.
//!
//! The plan (names, sizes, the table line `0 SECTORS snapshot ORIGIN COW N CHUNK`) is
//! pure; the RAM store is behind [`RamStores`] (the real one is a loop device over a
//! memfd, in `loop_store`) and the DM calls behind `DmControl`, so the whole sequence,
//! its cleanup on failure and its teardown are tested with recording backends. The
//! target is described in the kernel's `Documentation/admin-guide/device-mapper/
//! snapshot.rst`.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use super::{DeviceMapper, DmControl, DmError, DmName, DmUuid};
use crate::devices::lvm::table::{DevNumber, DmTable, TableLine, Target};

/// The snapshot's chunk: 4 KiB, the block size of the filesystems it carries, so a
/// replayed block costs one chunk of RAM.
pub(crate) const CHUNK_SECTORS: u64 = 8;
const SECTOR_BYTES: u64 = 512;
const CHUNK_BYTES: u64 = CHUNK_SECTORS * SECTOR_BYTES;
/// Below this the store could not hold even a small journal: not worth trying.
pub(crate) const MIN_COW_BYTES: u64 = 16 << 20;
/// Names of the snapshot devices start with this (`kboot-replay-vda1`).
pub(crate) const NAME_PREFIX: &str = "kboot-replay-";

#[derive(Debug, Error)]
pub(crate) enum SnapshotError {
    #[error("{device} cannot carry a RAM snapshot: {why}")]
    Unsuitable { device: String, why: String },
    #[error("device-mapper: {0}")]
    Dm(#[from] DmError),
    #[error("cannot make a memory file for the copy-on-write store: {source}")]
    Memfd {
        #[source]
        source: io::Error,
    },
    #[error("{what} on {path} failed: {source}")]
    Loop {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What a snapshot over one device will be, before anything is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SnapshotPlan {
    pub name: DmName,
    pub uuid: DmUuid,
    pub origin: DevNumber,
    pub origin_sectors: u64,
    /// The size of the RAM store: RAM is used only as chunks are written.
    pub cow_bytes: u64,
}

impl SnapshotPlan {
    /// The one-line table, once the store's device number is known.
    pub(crate) fn table(&self, cow: DevNumber) -> DmTable {
        DmTable {
            lines: vec![TableLine {
                start_sector: 0,
                length_sectors: self.origin_sectors,
                target: Target::Snapshot {
                    origin: self.origin,
                    cow,
                    chunk_sectors: CHUNK_SECTORS,
                },
            }],
        }
    }
}

/// Plans a snapshot over the device `kernel_name` (number `origin`, `size_bytes`
/// long, starting `offset_bytes` into its node: non-zero only for image files). The
/// store is as large as the device but at most half the memory available, so a
/// replay can never take the RAM PID 1 needs; a store that fills up invalidates the
/// snapshot, the mount fails, and the caller falls back.
pub(crate) fn plan(
    kernel_name: &str,
    origin: Option<DevNumber>,
    offset_bytes: u64,
    size_bytes: u64,
    mem_available_bytes: u64,
) -> Result<SnapshotPlan, SnapshotError> {
    let unsuitable = |why: String| SnapshotError::Unsuitable {
        device: kernel_name.to_string(),
        why,
    };
    let origin = origin.ok_or_else(|| unsuitable("it is not a block device".into()))?;
    if offset_bytes != 0 {
        return Err(unsuitable("it is a window into an image file".into()));
    }
    let origin_sectors = size_bytes / SECTOR_BYTES;
    if origin_sectors == 0 {
        return Err(unsuitable("it is empty".into()));
    }
    let cow_bytes = size_bytes.min(mem_available_bytes / 2) / CHUNK_BYTES * CHUNK_BYTES;
    if cow_bytes < MIN_COW_BYTES {
        return Err(unsuitable(format!(
            "only {} MiB of memory is available for the copy-on-write store (needs {} MiB)",
            (mem_available_bytes / 2) >> 20,
            MIN_COW_BYTES >> 20
        )));
    }
    let safe_name = kernel_name.replace(['/', '\0'], "_");
    let name = DmName::new(&format!("{NAME_PREFIX}{safe_name}"))?;
    let uuid = DmUuid::new(&format!("KBOOT-REPLAY-{safe_name}"))?;
    Ok(SnapshotPlan {
        name,
        uuid,
        origin,
        origin_sectors,
        cow_bytes,
    })
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
pub(crate) fn mem_available_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?;
    let mut words = line.split_whitespace();
    let kib: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => kib.checked_mul(1024),
        _ => None,
    }
}

/// RAM-backed block devices for copy-on-write stores.
pub(crate) trait RamStores {
    /// What must be kept to take a store down again.
    type Store;
    /// A zero-filled block device of `size_bytes` whose contents live in RAM, and its
    /// device number.
    fn create(&mut self, size_bytes: u64) -> Result<(Self::Store, DevNumber), SnapshotError>;
    /// Detaches and frees the store; its RAM is returned.
    fn destroy(&mut self, store: Self::Store) -> Result<(), SnapshotError>;
}

/// A live snapshot: its DM device and the store under it.
#[derive(Debug)]
pub(crate) struct RamSnapshot<S> {
    pub plan: SnapshotPlan,
    /// The snapshot device's number (`/dev/mapper/NAME`).
    pub dev: DevNumber,
    store: S,
}

/// Creates the store, then the DM device: create, load the table read-write (the
/// replay must be able to write, into RAM), resume. If a step fails, what was made is
/// taken down again, newest first, and the first error is returned.
pub(crate) fn create<C: DmControl, R: RamStores>(
    dm: &mut DeviceMapper<C>,
    stores: &mut R,
    plan: SnapshotPlan,
) -> Result<RamSnapshot<R::Store>, SnapshotError> {
    let (store, cow) = stores.create(plan.cow_bytes)?;
    if let Err(e) = dm.create(&plan.name, &plan.uuid) {
        // The first error is the one to report; the store is only RAM.
        let _ = stores.destroy(store);
        return Err(e.into());
    }
    let live = dm
        .load_table(&plan.name, &plan.table(cow), false)
        .and_then(|()| dm.resume(&plan.name));
    match live {
        Ok(dev) => Ok(RamSnapshot { plan, dev, store }),
        Err(e) => {
            let _ = dm.remove(&plan.name);
            let _ = stores.destroy(store);
            Err(e.into())
        }
    }
}

/// Takes a snapshot down (after its filesystem is unmounted): the DM device first,
/// then its store. Both are tried; the first error is returned.
pub(crate) fn remove<C: DmControl, R: RamStores>(
    dm: &mut DeviceMapper<C>,
    stores: &mut R,
    snapshot: RamSnapshot<R::Store>,
) -> Result<(), SnapshotError> {
    let removed = dm.remove(&snapshot.plan.name).map_err(SnapshotError::from);
    let destroyed = stores.destroy(snapshot.store);
    removed.and(destroyed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
