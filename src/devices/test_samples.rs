//! The byte samples under `tests/data/md-lvm/`, taken from disk images that mdadm 4.2
//! and lvm2 2.03.16 made in the helper VM (`extract.sh` there says how), and what the
//! tools printed about them (`SET.env`, `SET-build.log.gz`). Shared by the md, LVM,
//! partition and blockdev unit tests so each can check its parser against the real
//! tools.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Every VM fixture disk is 96 MiB: the GPT disks' primary headers put their backup at
/// LBA 196607, and lvm reports `dev_size` 196608 sectors for the bare PV `/dev/vdc` of
/// the r1090 set (`r1090-build.log.gz`).
pub(crate) const DISK_BYTES: u64 = 100_663_296;
/// `SET-diskN-tail.bin.gz` holds the last 2 MiB of its disk.
pub(crate) const TAIL_BYTES: u64 = 2 << 20;
/// The GPT members' partition (sectors 2048..=194559; `tests/data/md/README.md`).
pub(crate) const PARTITION_BYTES: u64 = 192_512 * 512;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/md-lvm")
}

fn gunzip(name: &str) -> Vec<u8> {
    let path = dir().join(name);
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("cannot open sample {}: {e}", path.display()));
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .unwrap_or_else(|e| panic!("cannot gunzip sample {}: {e}", path.display()));
    bytes
}

/// The bytes of one sample, e.g. `sample("r1090-disk3-head.bin.gz")`.
pub(crate) fn sample(name: &str) -> Vec<u8> {
    gunzip(name)
}

/// `SET.env` as a map, e.g. `env("stale")["STALE_MD_UUID"]`.
pub(crate) fn env(set: &str) -> HashMap<String, String> {
    let path = dir().join(format!("{set}.env"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// One value of `SET.env`, by its key without the `SET_` prefix (`MD_UUID`).
pub(crate) fn env_value(set: &str, key: &str) -> String {
    let key = format!("{}_{key}", set.to_uppercase());
    env(set)
        .remove(&key)
        .unwrap_or_else(|| panic!("{set}.env has no {key}"))
}

pub(crate) fn env_u64(set: &str, key: &str) -> u64 {
    let value = env_value(set, key);
    value
        .parse()
        .unwrap_or_else(|_| panic!("{set}.env: {key}={value} is not a number"))
}

/// The helper VM's console log for a set.
pub(crate) fn build_log(set: &str) -> String {
    String::from_utf8(gunzip(&format!("{set}-build.log.gz"))).expect("build log is UTF-8")
}

/// The output lines of `+ COMMAND` in a console log: from the line after the command
/// up to the next traced (`+ `) line.
pub(crate) fn command_output<'a>(log: &'a str, command: &str) -> Vec<&'a str> {
    let traced = format!("+ {command}");
    let mut lines = log.lines();
    lines
        .by_ref()
        .find(|l| *l == traced)
        .unwrap_or_else(|| panic!("no {traced:?} in the log"));
    lines.take_while(|l| !l.starts_with("+ ")).collect()
}

/// What `dmsetup table` printed: DM name to its table line.
pub(crate) fn dmsetup_tables(log: &str) -> HashMap<String, String> {
    command_output(log, "dmsetup table")
        .into_iter()
        .filter_map(|l| l.split_once(": "))
        .map(|(name, line)| (name.to_owned(), line.trim_end().to_owned()))
        .collect()
}

/// The VG metadata text `vgcfgbackup` wrote, as the log shows it.
pub(crate) fn vg_backup_text(log: &str) -> String {
    command_output(log, "cat /tmp/vg.txt").join("\n")
}

/// One sampled disk: its head and tail samples at their places, zeros between, as a
/// `Read + Seek` device of the disk's real size.
pub(crate) struct SampledDisk {
    head: Vec<u8>,
    tail: Vec<u8>,
    size_bytes: u64,
    pos: u64,
}

impl SampledDisk {
    /// Disk `disk` (1-based) of `set`, e.g. `SampledDisk::new("r5", 2)`.
    pub(crate) fn new(set: &str, disk: u32) -> Self {
        let head = sample(&format!("{set}-disk{disk}-head.bin.gz"));
        let tail = sample(&format!("{set}-disk{disk}-tail.bin.gz"));
        assert_eq!(tail.len() as u64, TAIL_BYTES);
        assert!((head.len() as u64) <= DISK_BYTES - TAIL_BYTES);
        SampledDisk {
            head,
            tail,
            size_bytes: DISK_BYTES,
            pos: 0,
        }
    }

    pub(crate) fn head(&self) -> &[u8] {
        &self.head
    }

    /// For tests that damage the disk.
    pub(crate) fn head_mut(&mut self) -> &mut [u8] {
        &mut self.head
    }

    pub(crate) fn tail_mut(&mut self) -> &mut [u8] {
        &mut self.tail
    }

    pub(crate) fn tail(&self) -> &[u8] {
        &self.tail
    }

    pub(crate) fn tail_offset_bytes(&self) -> u64 {
        self.size_bytes - self.tail.len() as u64
    }

    /// A sparse image file holding the disk, for code that opens paths.
    pub(crate) fn write_image(&self, path: &Path) {
        let mut file = std::fs::File::create(path).expect("create image");
        file.set_len(self.size_bytes).expect("size image");
        std::io::Write::write_all(&mut file, &self.head).expect("write head");
        file.seek(SeekFrom::Start(self.tail_offset_bytes()))
            .expect("seek to tail");
        std::io::Write::write_all(&mut file, &self.tail).expect("write tail");
    }
}

impl Read for SampledDisk {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.size_bytes.saturating_sub(self.pos);
        let len = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let tail_at = self.tail_offset_bytes();
        for (i, byte) in buf[..len].iter_mut().enumerate() {
            let at = self.pos + i as u64;
            *byte = if at < self.head.len() as u64 {
                self.head[at as usize]
            } else if at >= tail_at {
                self.tail[(at - tail_at) as usize]
            } else {
                0
            };
        }
        self.pos += len as u64;
        Ok(len)
    }
}

impl Seek for SampledDisk {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size_bytes.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}
