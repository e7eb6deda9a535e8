//! Shared pieces of the QEMU tier: the fixtures (built once per test process by
//! `tests/fixtures.sh`), the kboot initramfs, per-test disk copies that are compared
//! byte for byte with the pristine image after each boot, and a QEMU runner that
//! watches the serial console under a hard deadline and can type into it.
//!
//! Everything here fails loudly: a missing tool or fixture is a test failure, never a
//! skip.

#![allow(dead_code)]

pub(crate) mod busybox;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Condvar, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The TCG machine Xen was measured to boot on (QEMU 7.2), less `-m`/`-smp`: TCG
/// emulates AMD SVM with nested paging, which a PVH dom0 needs, and Xen wants an IOMMU
/// with interrupt remapping for it. Without XSAVE (so without AVX): with it, programs
/// in dom0 and the domU failed at random while both domains ran (segfaults in busybox
/// tr, sed and dmesg; awk misreading its program), which a quiet dom0 never showed;
/// Xen then switches the guests' vector state with FXSAVE.
pub(crate) const XEN_MACHINE_ARGS: &[&str] = &[
    "-cpu",
    "max,-rdtscp,-xsave",
    "-machine",
    "q35,kernel-irqchip=split",
    "-device",
    "intel-iommu,intremap=on",
];

/// Hang guard for one boot. Never a speed assertion: a TCG boot through kboot takes
/// about 10 s, a loaded CI machine may take several times that.
pub(crate) const BOOT_DEADLINE: Duration = Duration::from_secs(120);

/// QEMU under TCG keeps one core busy; more guests than cores only slow all of them.
const MAX_PARALLEL_QEMUS: usize = 2;

/// Guest RAM of every boot unless a test asks for another size.
pub(crate) const DEFAULT_MEMORY_MIB: u32 = 1024;

/// The line the kernel prints last when it panics; seeing it ends a wait early.
const PANIC_END_MARKER: &str = "---[ end Kernel panic";

pub(crate) fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn cache_dir() -> PathBuf {
    repo_dir().join("target").join("kboot-cache")
}

/// What `tests/fixtures.sh` built, read from its `fixtures.env`.
pub(crate) struct Fixtures {
    vars: HashMap<String, String>,
}

impl Fixtures {
    /// A value from fixtures.env; panics naming the key when it is missing.
    pub(crate) fn var(&self, key: &str) -> &str {
        match self.vars.get(key) {
            Some(value) => value,
            None => panic!("fixtures.env has no {key}"),
        }
    }

    pub(crate) fn path(&self, key: &str) -> PathBuf {
        PathBuf::from(self.var(key))
    }

    pub(crate) fn kernel_version(&self) -> &str {
        self.var("KERNEL_VERSION")
    }

    /// The pristine disk images of an image set of `tests/vm-fixtures.sh` (`r1lvm`, `r1090`, `r5`,
    /// `stale`, `r0part`, `dirty`, `dirtyxfs`), in the order the helper VM saw them: vda, vdb, ...
    pub(crate) fn set_disks(&self, set: &str) -> Vec<PathBuf> {
        let prefix = set.to_uppercase();
        let count: usize = self
            .var(&format!("{prefix}_DISK_COUNT"))
            .parse()
            .unwrap_or_else(|error| panic!("{prefix}_DISK_COUNT: {error}"));
        (1..=count)
            .map(|index| self.path(&format!("{prefix}_DISK{index}")))
            .collect()
    }

    /// `KEY=value` lines; lines without `=` are ignored.
    fn read(path: &Path) -> Fixtures {
        let text = fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        let vars = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        Fixtures { vars }
    }
}

/// Runs `tests/fixtures.sh` once per test process and parses `fixtures.env`.
pub(crate) fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let cache = cache_dir();
        let started = Instant::now();
        let output = Command::new("bash")
            .arg(repo_dir().join("tests/fixtures.sh"))
            .arg(&cache)
            .output()
            .unwrap_or_else(|error| panic!("cannot run bash tests/fixtures.sh: {error}"));
        assert!(
            output.status.success(),
            "tests/fixtures.sh {} failed ({}):\n{}\n{}",
            cache.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("fixtures ready in {:.2?}", started.elapsed());
        Fixtures::read(&cache.join("fixtures.env"))
    })
}

/// Runs `tests/vm-fixtures.sh` once per test process (after `fixtures()`: it needs the
/// kernel) and parses `vm-fixtures.env`, which holds fixtures.env's keys too. Cold, it
/// boots a helper VM per image set (about a minute in all); warm, it is instant.
pub(crate) fn storage_fixtures() -> &'static Fixtures {
    static STORAGE_FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    STORAGE_FIXTURES.get_or_init(|| {
        fixtures();
        let cache = cache_dir();
        let started = Instant::now();
        let output = Command::new("bash")
            .arg(repo_dir().join("tests/vm-fixtures.sh"))
            .arg(&cache)
            .output()
            .unwrap_or_else(|error| panic!("cannot run bash tests/vm-fixtures.sh: {error}"));
        assert!(
            output.status.success(),
            "tests/vm-fixtures.sh {} failed ({}):\n{}\n{}",
            cache.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("md/LVM fixtures ready in {:.2?}", started.elapsed());
        Fixtures::read(&cache.join("vm-fixtures.env"))
    })
}

/// Runs `tests/xen-fixtures.sh` once per test process (after `fixtures()`: it takes
/// the kernel's ABI number from it) and parses `xen/xen-fixtures.env`: Xen, the
/// generic dom0 kernel, the dom0 marker ramdisk and the Xen host's disk image.
pub(crate) fn xen_fixtures() -> &'static Fixtures {
    static XEN_FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    XEN_FIXTURES.get_or_init(|| {
        fixtures();
        let cache = cache_dir();
        let started = Instant::now();
        let output = Command::new("bash")
            .arg(repo_dir().join("tests/xen-fixtures.sh"))
            .arg(&cache)
            .output()
            .unwrap_or_else(|error| panic!("cannot run bash tests/xen-fixtures.sh: {error}"));
        assert!(
            output.status.success(),
            "tests/xen-fixtures.sh {} failed ({}):\n{}\n{}",
            cache.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("Xen fixtures ready in {:.2?}", started.elapsed());
        Fixtures::read(&cache.join("xen").join("xen-fixtures.env"))
    })
}

/// The kboot initramfs in its two forms: written by `mkinitramfs --cpio`, and built
/// by the kernel's own `gen_init_cpio` from the list `mkinitramfs -o` writes.
pub(crate) struct KbootInitramfs {
    pub cpio_gz: PathBuf,
    /// The same image compressed with xz (the smallest form).
    pub cpio_xz: PathBuf,
    pub gen_init_cpio: PathBuf,
}

fn run_checked(command: &mut Command) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Builds the kboot initramfs once per test process, around this build's kboot binary.
pub(crate) fn kboot_initramfs() -> &'static KbootInitramfs {
    static INITRAMFS: OnceLock<KbootInitramfs> = OnceLock::new();
    INITRAMFS.get_or_init(|| {
        let fixtures = fixtures();
        let repo = repo_dir();
        let cache = cache_dir();
        let kboot = env!("CARGO_BIN_EXE_kboot");
        let mkinitramfs = repo.join("mkinitramfs");
        assert!(
            mkinitramfs.exists(),
            "{} is missing: the QEMU tier needs it to build the kboot initramfs",
            mkinitramfs.display()
        );
        let modules = fixtures.path("MODULES_DIR");
        let cpio_gz = cache.join("kboot-e2e.cpio.gz");
        let list = cache.join("kboot-e2e.list");
        let gen_init_cpio = cache.join("kboot-e2e-gen_init_cpio.cpio");
        let base_args = |command: &mut Command| {
            command
                .current_dir(&repo)
                .arg("--init")
                .arg(kboot)
                .arg("-k")
                .arg(&modules);
        };
        let mut command = Command::new(&mkinitramfs);
        base_args(&mut command);
        run_checked(command.arg("--cpio").arg(&cpio_gz));
        let cpio_xz = cache.join("kboot-e2e.cpio.xz");
        let mut command = Command::new(&mkinitramfs);
        base_args(&mut command);
        run_checked(command.arg("--cpio").arg(&cpio_xz));
        let mut command = Command::new(&mkinitramfs);
        base_args(&mut command);
        run_checked(command.arg("-o").arg(&list));
        let archive = run_checked(
            Command::new(fixtures.path("GEN_INIT_CPIO"))
                .current_dir(&repo)
                .arg(&list),
        );
        fs::write(&gen_init_cpio, archive)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", gen_init_cpio.display()));
        KbootInitramfs {
            cpio_gz,
            cpio_xz,
            gen_init_cpio,
        }
    })
}

/// The kboot kernel: `kernel/build` output (bzImage and the PVH-bootable vmlinux, both
/// with kboot's initramfs inside), around a release build of this tree's kboot.
pub(crate) struct KbootKernel {
    pub bz_image: PathBuf,
    pub vmlinux: PathBuf,
}

/// Runs `kernel/build` once per test process. Cold it builds the kernel (about ten
/// minutes on two cores); with only kboot changed it relinks; unchanged it is instant.
pub(crate) fn kboot_kernel() -> &'static KbootKernel {
    static KERNEL: OnceLock<KbootKernel> = OnceLock::new();
    KERNEL.get_or_init(|| {
        let out = cache_dir().join("kboot-kernel");
        let started = Instant::now();
        // stderr stays on the terminal: a cold build is long and shows its progress.
        let status = Command::new("bash")
            .arg(repo_dir().join("kernel/build"))
            .arg(&out)
            .stdin(Stdio::null())
            .status()
            .unwrap_or_else(|error| panic!("cannot run bash kernel/build: {error}"));
        assert!(
            status.success(),
            "kernel/build {} failed ({status})",
            out.display()
        );
        eprintln!("kboot kernel ready in {:.2?}", started.elapsed());
        KbootKernel {
            bz_image: out.join("bzImage"),
            vmlinux: out.join("vmlinux"),
        }
    })
}

/// A test's own copy of a pristine fixture image. QEMU gets it read-write, so a
/// write by kboot (or by the kernels it starts) shows up in `assert_unchanged`.
pub(crate) struct DiskCopy {
    pristine: PathBuf,
    path: PathBuf,
}

impl DiskCopy {
    pub(crate) fn new(test_name: &str, pristine: &Path) -> DiskCopy {
        let work = cache_dir().join("work");
        fs::create_dir_all(&work)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", work.display()));
        let path = work.join(format!("{test_name}.img"));
        let _ = fs::remove_file(&path);
        run_checked(
            Command::new("cp")
                .arg("--sparse=always")
                .arg("--reflink=auto")
                .arg(pristine)
                .arg(&path),
        );
        // The pristine images are read-only; the copy must be writable for QEMU.
        run_checked(Command::new("chmod").arg("u+w").arg(&path));
        DiskCopy {
            pristine: pristine.to_path_buf(),
            path,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Panics with the first differing offset when the copy no longer matches.
    pub(crate) fn assert_unchanged(&self) {
        const CHUNK_BYTES: usize = 1 << 20;
        let open = |path: &Path| {
            File::open(path).unwrap_or_else(|error| panic!("open {}: {error}", path.display()))
        };
        let (mut pristine, mut copy) = (open(&self.pristine), open(&self.path));
        let (mut expected, mut found) = (vec![0u8; CHUNK_BYTES], vec![0u8; CHUNK_BYTES]);
        let mut offset_bytes = 0u64;
        loop {
            let expected_len = read_full(&mut pristine, &mut expected);
            let found_len = read_full(&mut copy, &mut found);
            if expected[..expected_len] != found[..found_len] {
                let first = expected[..expected_len]
                    .iter()
                    .zip(&found[..found_len])
                    .position(|(a, b)| a != b)
                    .unwrap_or(expected_len.min(found_len));
                panic!(
                    "disk image {} differs from {} at byte {} (sizes of this chunk: {} vs {})",
                    self.path.display(),
                    self.pristine.display(),
                    offset_bytes + first as u64,
                    expected_len,
                    found_len
                );
            }
            if expected_len == 0 {
                return;
            }
            offset_bytes += expected_len as u64;
        }
    }
}

impl Drop for DiskCopy {
    fn drop(&mut self) {
        // Keep the copy of a failed test for inspection.
        if !thread::panicking() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn read_full(file: &mut File, buffer: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => panic!("read failed: {error}"),
        }
    }
    filled
}

/// Counts running QEMUs across the test threads of this process.
struct QemuSlots {
    running: Mutex<usize>,
    freed: Condvar,
}

static QEMU_SLOTS: QemuSlots = QemuSlots {
    running: Mutex::new(0),
    freed: Condvar::new(),
};

struct QemuSlot;

impl QemuSlot {
    fn acquire() -> QemuSlot {
        let mut running = QEMU_SLOTS
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while *running >= MAX_PARALLEL_QEMUS {
            running = QEMU_SLOTS
                .freed
                .wait(running)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        *running += 1;
        QemuSlot
    }
}

impl Drop for QemuSlot {
    fn drop(&mut self) {
        let mut running = QEMU_SLOTS
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *running -= 1;
        QEMU_SLOTS.freed.notify_one();
    }
}

/// What to boot.
pub(crate) struct BootSpec<'a> {
    /// Names the log file: `target/kboot-cache/logs/<name>.log`.
    pub name: &'a str,
    pub kernel: &'a Path,
    /// `None` for a kernel that carries its own initramfs (the kboot kernel).
    pub initrd: Option<&'a Path>,
    pub append: &'a str,
    pub disk: &'a Path,
}

/// What to boot on several disks: `disks[0]` is vda, `disks[1]` vdb, and so on.
pub(crate) struct MultiDiskBootSpec<'a> {
    /// Names the log file: `target/kboot-cache/logs/<name>.log`.
    pub name: &'a str,
    pub kernel: &'a Path,
    /// `None` for a kernel that carries its own initramfs (the kboot kernel).
    pub initrd: Option<&'a Path>,
    pub append: &'a str,
    pub disks: &'a [&'a Path],
}

/// What to boot with each `-drive` argument given in full, plus extra QEMU arguments.
pub(crate) struct DrivesBootSpec<'a> {
    /// Names the log file: `target/kboot-cache/logs/<name>.log`.
    pub name: &'a str,
    pub kernel: &'a Path,
    pub initrd: Option<&'a Path>,
    pub append: &'a str,
    /// Each one `-drive` argument, e.g. `file=IMG,format=raw,if=virtio`.
    pub drives: &'a [String],
    pub extra_args: &'a [String],
}

/// `KBOOT-MARKER ramdisk=<NAME> kernel=<uname -r> cmdline=<...>`, printed by the
/// marker ramdisk's /init.
pub(crate) struct Marker {
    pub ramdisk: String,
    pub kernel_release: String,
    pub cmdline: String,
}

impl Marker {
    pub(crate) fn parse(line: &str) -> Option<Marker> {
        let rest = &line[line.find("KBOOT-MARKER ")? + "KBOOT-MARKER ".len()..];
        let rest = rest.strip_prefix("ramdisk=")?;
        let (ramdisk, rest) = rest.split_once(" kernel=")?;
        let (kernel_release, cmdline) = rest.split_once(" cmdline=")?;
        Some(Marker {
            ramdisk: ramdisk.to_string(),
            kernel_release: kernel_release.to_string(),
            cmdline: cmdline.to_string(),
        })
    }

    pub(crate) fn cmdline_words(&self) -> Vec<&str> {
        self.cmdline.split_whitespace().collect()
    }
}

/// `kboot: [T] booting <KERNEL> initrd <RAMDISK> cmdline "<CMDLINE>"`, printed just
/// before kexec.
pub(crate) struct Booting {
    pub seconds_since_init: f64,
    pub kernel: String,
    pub ramdisk: String,
    pub cmdline: String,
}

impl Booting {
    pub(crate) fn parse(line: &str) -> Option<Booting> {
        let rest = &line[line.find("kboot: [")? + "kboot: [".len()..];
        let (seconds, rest) = rest.split_once("] booting ")?;
        let (kernel, rest) = rest.split_once(" initrd ")?;
        let (ramdisk, rest) = rest.split_once(" cmdline \"")?;
        let cmdline = rest.strip_suffix('"')?;
        Some(Booting {
            seconds_since_init: seconds.trim().parse().ok()?,
            kernel: kernel.to_string(),
            ramdisk: ramdisk.to_string(),
            cmdline: cmdline.to_string(),
        })
    }
}

pub(crate) fn is_booting_line(line: &str) -> bool {
    Booting::parse(line).is_some()
}

pub(crate) fn is_marker_line(line: &str) -> bool {
    Marker::parse(line).is_some()
}

/// Why a wait ended without finding what it waited for.
#[derive(Debug)]
pub(crate) enum WaitFailure {
    Deadline,
    QemuExited,
    KernelPanic,
}

/// The guest machine: what `Qemu::start_on_machine` adds to a boot spec.
pub(crate) struct Machine<'a> {
    pub memory_mib: u32,
    pub cpus: u32,
    /// Further QEMU arguments for the machine itself (`-cpu`, `-machine`, `-device`).
    pub args: &'a [&'a str],
    /// Hang guard for this boot.
    pub deadline: Duration,
}

impl Default for Machine<'_> {
    /// The machine of every other boot: one CPU, `DEFAULT_MEMORY_MIB`, `BOOT_DEADLINE`.
    fn default() -> Self {
        Machine {
            memory_mib: DEFAULT_MEMORY_MIB,
            cpus: 1,
            args: &[],
            deadline: BOOT_DEADLINE,
        }
    }
}

/// A running QEMU whose serial console is this process's pipe. Dropping it kills
/// QEMU and writes the log.
pub(crate) struct Qemu {
    name: String,
    command_line: String,
    child: Child,
    stdin: Option<ChildStdin>,
    console: Receiver<Vec<u8>>,
    stdout_reader: Option<JoinHandle<()>>,
    stderr_reader: Option<JoinHandle<Vec<u8>>>,
    /// Everything the console printed so far.
    output: Vec<u8>,
    /// Waits look only at output past this offset.
    cursor: usize,
    console_closed: bool,
    started: Instant,
    deadline: Instant,
    /// The deadline as a duration from the start, for the log.
    deadline_after: Duration,
    exit: Option<ExitStatus>,
    killed_at_deadline: bool,
    log_written: bool,
    _slot: QemuSlot,
}

impl Qemu {
    pub(crate) fn start(spec: &BootSpec) -> Qemu {
        Qemu::start_with_disks(&MultiDiskBootSpec {
            name: spec.name,
            kernel: spec.kernel,
            initrd: spec.initrd,
            append: spec.append,
            disks: &[spec.disk],
        })
    }

    pub(crate) fn start_with_disks(spec: &MultiDiskBootSpec) -> Qemu {
        let drives: Vec<String> = spec
            .disks
            .iter()
            .map(|disk| format!("file={},format=raw,if=virtio", disk.display()))
            .collect();
        Qemu::start_with_drives(&DrivesBootSpec {
            name: spec.name,
            kernel: spec.kernel,
            initrd: spec.initrd,
            append: spec.append,
            drives: &drives,
            extra_args: &[],
        })
    }

    /// As `start_with_disks`, with each `-drive` argument spelled out (blkdebug, ids for
    /// hot-plug) and further QEMU arguments (`-monitor unix:...`).
    pub(crate) fn start_with_drives(spec: &DrivesBootSpec) -> Qemu {
        Qemu::start_with_drives_and_memory(spec, DEFAULT_MEMORY_MIB)
    }

    /// As `start_with_drives`, with `memory_mib` MiB of guest RAM instead of the
    /// default `DEFAULT_MEMORY_MIB`.
    pub(crate) fn start_with_drives_and_memory(spec: &DrivesBootSpec, memory_mib: u32) -> Qemu {
        Qemu::start_on_machine(
            spec,
            &Machine {
                memory_mib,
                ..Machine::default()
            },
        )
    }

    /// As `start_with_drives`, on `machine` (CPUs, RAM, machine type, deadline).
    pub(crate) fn start_on_machine(spec: &DrivesBootSpec, machine: &Machine) -> Qemu {
        let slot = QemuSlot::acquire();
        let mut command = Command::new("qemu-system-x86_64");
        command
            .args(["-accel", "tcg"])
            .args(machine.args)
            .args(["-m", &machine.memory_mib.to_string()])
            .args(["-smp", &machine.cpus.to_string()])
            .args(["-nographic", "-no-reboot"])
            .arg("-kernel")
            .arg(spec.kernel)
            .arg("-append")
            .arg(spec.append);
        if let Some(initrd) = spec.initrd {
            command.arg("-initrd").arg(initrd);
        }
        for drive in spec.drives {
            command.arg("-drive").arg(drive);
        }
        command.args(spec.extra_args);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let command_line = format!("{command:?}");
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start qemu-system-x86_64: {error}"));
        let started = Instant::now();
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (sender, console) = mpsc::channel();
        // Raw reads, not lines: the rescue prompt has no newline after it.
        let stdout_reader = thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            loop {
                match stdout.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => {
                        if sender.send(buffer[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        });
        let stderr_reader = thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stderr.read_to_end(&mut text);
            text
        });
        Qemu {
            name: spec.name.to_string(),
            command_line,
            child,
            stdin,
            console,
            stdout_reader: Some(stdout_reader),
            stderr_reader: Some(stderr_reader),
            output: Vec::new(),
            cursor: 0,
            console_closed: false,
            started,
            deadline: started + machine.deadline,
            deadline_after: machine.deadline,
            exit: None,
            killed_at_deadline: false,
            log_written: false,
            _slot: slot,
        }
    }

    /// Makes the hang guard end `at_most` from now, if that is sooner than it would:
    /// for a step measured to take far less than the whole run's deadline.
    pub(crate) fn limit_remaining(&mut self, at_most: Duration) {
        let limit = Instant::now() + at_most;
        if limit < self.deadline {
            self.deadline = limit;
            self.deadline_after = limit - self.started;
        }
    }

    /// Time since QEMU started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Everything the console printed so far.
    pub(crate) fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }

    /// Receives console output until `found` returns a match end offset (relative to
    /// the cursor), the console closes, a kernel panic ends, or the deadline passes.
    fn wait_until(
        &mut self,
        mut found: impl FnMut(&[u8]) -> Option<(usize, usize)>,
    ) -> Result<(usize, usize), WaitFailure> {
        loop {
            if let Some((start, end)) = found(&self.output[self.cursor..]) {
                let (start, end) = (self.cursor + start, self.cursor + end);
                self.cursor = end;
                return Ok((start, end));
            }
            if contains(&self.output[self.cursor..], PANIC_END_MARKER.as_bytes()) {
                return Err(WaitFailure::KernelPanic);
            }
            if self.console_closed {
                return Err(WaitFailure::QemuExited);
            }
            let now = Instant::now();
            if now >= self.deadline {
                self.kill(true);
                return Err(WaitFailure::Deadline);
            }
            match self.console.recv_timeout(self.deadline - now) {
                Ok(bytes) => self.output.extend_from_slice(&bytes),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.console_closed = true,
            }
        }
    }

    /// Waits for `needle` anywhere in new output, also in a line not yet ended (a
    /// prompt). Returns the output between the previous cursor and the needle.
    pub(crate) fn wait_for_text(&mut self, needle: &str) -> Result<String, WaitFailure> {
        let from = self.cursor;
        let (start, _) = self.wait_until(|text| {
            find(text, needle.as_bytes()).map(|start| (start, start + needle.len()))
        })?;
        Ok(String::from_utf8_lossy(&self.output[from..start]).into_owned())
    }

    /// Waits for a complete console line (without its line ending) that satisfies
    /// `wanted` and returns it.
    pub(crate) fn wait_for_line(
        &mut self,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<String, WaitFailure> {
        let (start, end) = self.wait_until(|text| {
            let mut line_start = 0;
            while let Some(newline) = find(&text[line_start..], b"\n") {
                let line_end = line_start + newline;
                let line = String::from_utf8_lossy(&text[line_start..line_end]);
                if wanted(line.trim_end_matches('\r')) {
                    return Some((line_start, line_end + 1));
                }
                line_start = line_end + 1;
            }
            None
        })?;
        let line = String::from_utf8_lossy(&self.output[start..end]);
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }

    /// Waits for the first of `needles` to appear in new output; returns its index and
    /// the output between the previous cursor and it.
    pub(crate) fn wait_for_any(
        &mut self,
        needles: &[&str],
    ) -> Result<(usize, String), WaitFailure> {
        let from = self.cursor;
        let mut which = 0;
        let (start, _) = self.wait_until(|text| {
            let (index, start, needle) = needles
                .iter()
                .enumerate()
                .filter_map(|(index, needle)| {
                    find(text, needle.as_bytes()).map(|start| (index, start, needle))
                })
                .min_by_key(|&(_, start, _)| start)?;
            which = index;
            Some((start, start + needle.len()))
        })?;
        Ok((
            which,
            String::from_utf8_lossy(&self.output[from..start]).into_owned(),
        ))
    }

    /// `wait_for_text`, panicking with the transcript on failure.
    pub(crate) fn expect_text(&mut self, needle: &str) -> String {
        match self.wait_for_text(needle) {
            Ok(before) => before,
            Err(failure) => self.fail(&format!("waiting for {needle:?}: {failure:?}")),
        }
    }

    /// `wait_for_line`, panicking with the transcript on failure.
    pub(crate) fn expect_line(
        &mut self,
        description: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> String {
        match self.wait_for_line(wanted) {
            Ok(line) => line,
            Err(failure) => self.fail(&format!("waiting for {description}: {failure:?}")),
        }
    }

    /// Types `line` and a newline into the serial console.
    pub(crate) fn send_line(&mut self, line: &str) {
        self.send_keys(&format!("{line}\n"));
    }

    /// Types `keys` as they are (escape sequences, control characters) into the console.
    pub(crate) fn send_keys(&mut self, keys: &str) {
        let written = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(keys.as_bytes())
                .and_then(|()| stdin.flush()),
            None => Err(std::io::Error::other("stdin already closed")),
        };
        if let Err(error) = written {
            self.fail(&format!("cannot type {keys:?} into the console: {error}"));
        }
    }

    /// Waits for QEMU to exit (the guest powered off) within the deadline, collects
    /// all output and writes the log. Panics with the transcript if it did not exit.
    pub(crate) fn expect_exit(&mut self) -> ExitStatus {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.exit = Some(status);
                    break;
                }
                Ok(None) => {}
                Err(error) => self.fail(&format!("waiting for qemu: {error}")),
            }
            let now = Instant::now();
            if now >= self.deadline {
                self.kill(true);
                self.fail("waiting for QEMU to exit: deadline passed");
            }
            match self
                .console
                .recv_timeout(Duration::from_millis(100).min(self.deadline - now))
            {
                Ok(bytes) => self.output.extend_from_slice(&bytes),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.console_closed = true;
                    thread::sleep(Duration::from_millis(20));
                }
            }
        }
        self.drain();
        self.write_log();
        match self.exit {
            Some(status) if status.success() => status,
            Some(status) => self.fail(&format!("QEMU exited with {status}")),
            None => self.fail("QEMU exit status lost"),
        }
    }

    /// Panics with `message`, the transcript and the log path; kills QEMU first.
    pub(crate) fn fail(&mut self, message: &str) -> ! {
        self.kill(false);
        self.drain();
        let log = self.write_log();
        panic!(
            "{}: {message}\n--- transcript ({}) ---\n{}\n--- end of transcript ---",
            self.name,
            log.display(),
            self.transcript()
        );
    }

    /// Asserts `condition`, failing with the transcript.
    pub(crate) fn check(&mut self, condition: bool, message: &str) {
        if !condition {
            self.fail(message);
        }
    }

    /// Asserts that no kernel in this boot panicked.
    pub(crate) fn check_no_panic(&mut self) {
        let panicked = self.transcript().contains("Kernel panic");
        self.check(!panicked, "the transcript shows a kernel panic");
    }

    fn kill(&mut self, at_deadline: bool) {
        if self.exit.is_none() {
            self.killed_at_deadline |= at_deadline;
            let _ = self.child.kill();
            self.exit = self.child.wait().ok();
        }
    }

    /// After QEMU is gone: joins the readers and keeps the last of its output.
    fn drain(&mut self) {
        if let Some(reader) = self.stdout_reader.take() {
            let _ = reader.join();
        }
        while let Ok(bytes) = self.console.try_recv() {
            self.output.extend_from_slice(&bytes);
        }
        self.console_closed = true;
    }

    fn write_log(&mut self) -> PathBuf {
        let logs = cache_dir().join("logs");
        let path = logs.join(format!("{}.log", self.name));
        if self.log_written {
            return path;
        }
        self.log_written = true;
        let stderr = self
            .stderr_reader
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        let status = match (&self.exit, self.killed_at_deadline) {
            (_, true) => format!("killed after the {:?} deadline", self.deadline_after),
            (Some(status), false) => status.to_string(),
            (None, false) => "still running".to_string(),
        };
        let text = format!(
            "command: {}\nelapsed: {:.2?}\nexit: {status}\n--- qemu stderr ---\n{}--- console ---\n{}",
            self.command_line,
            self.started.elapsed(),
            String::from_utf8_lossy(&stderr),
            self.transcript()
        );
        let _ = fs::create_dir_all(&logs);
        if let Err(error) = fs::write(&path, text) {
            eprintln!("cannot write {}: {error}", path.display());
        }
        path
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.kill(false);
        self.drain();
        self.write_log();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}
