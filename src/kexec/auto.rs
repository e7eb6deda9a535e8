//! Which syscall loads the target (`kboot.kexec=`, `kboot kexec -s`/`-c`): the
//! [`KexecMethod`], and for `auto` the order of the two ways and when the second is
//! worth trying. The syscalls come through [`KexecSyscalls`], so the order is
//! unit-tested with a recording backend (`auto/tests.rs`).

use std::path::Path;
use std::time::{Duration, Instant};

use super::files::{read_files, read_modules};
use super::syscall::{self, KexecSyscalls, LiveKexec};
use super::{firmware, lay_out, KexecError, KexecPlan};

/// The syscall that loaded the target; shown as its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoadSyscall {
    /// kboot's own image builder, then `kexec_load`.
    KexecLoad,
    /// `kexec_file_load`: the running kernel lays the image out.
    KexecFileLoad,
}

impl std::fmt::Display for LoadSyscall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LoadSyscall::KexecLoad => "kexec_load",
            LoadSyscall::KexecFileLoad => "kexec_file_load",
        })
    }
}

/// How the target got loaded, and what refused it on the way.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub via: LoadSyscall,
    /// With `Auto`: why the first way was refused before the other took over.
    pub refused: Option<Box<KexecError>>,
    /// Where kboot's own builder spent its time; `None` for `kexec_file_load`, which
    /// does all of it inside the one syscall.
    pub times: Option<LoadTimes>,
    /// Words kboot's builder added to the kernel's command line (Xen's `no-real-mode`).
    pub cmdline_added: Vec<&'static str>,
}

/// The phases of a `kexec_load` through kboot's own builder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadTimes {
    /// Kernel and ramdisk bytes read (the kernel unpacked, if it was compressed).
    pub bytes_read: u64,
    pub read: Duration,
    /// Layout, boot parameters and the purgatory's checksums.
    pub layout: Duration,
    /// The syscall: the kernel copies every segment in.
    pub syscall: Duration,
}

impl std::fmt::Display for LoadTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "read {:.1} MB in {:.0} ms, laid out and checksummed in {:.0} ms, kexec_load took {:.0} ms",
            self.bytes_read as f64 / 1e6,
            ms(self.read),
            ms(self.layout),
            ms(self.syscall)
        )
    }
}

impl Loaded {
    fn file() -> Loaded {
        Loaded {
            via: LoadSyscall::KexecFileLoad,
            refused: None,
            times: None,
            cmdline_added: Vec::new(),
        }
    }

    fn own(own: OwnLoad) -> Loaded {
        Loaded {
            via: LoadSyscall::KexecLoad,
            refused: None,
            times: Some(own.times),
            cmdline_added: own.cmdline_added,
        }
    }

    fn after(self, refused: KexecError) -> Loaded {
        Loaded {
            refused: Some(Box::new(refused)),
            ..self
        }
    }
}

/// How to ask the kernel to load the target (`kboot.kexec=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum KexecMethod {
    /// The fastest way this machine allows, falling back to the other (see [`load`]).
    #[default]
    Auto,
    /// Only `kexec_file_load`.
    File,
    /// Only `kexec_load` (kboot's own image builder).
    Load,
}

/// Loads the plan into the kernel. On success `syscall::reboot_into_loaded` starts it.
///
/// `Auto` tries kboot's own builder (`kexec_load`) first: the running kernel then only
/// copies the segments, where `kexec_file_load` first hashes the whole kernel and
/// ramdisk with SHA-256 for its purgatory (seconds under emulation, and again before
/// the jump). It falls back to `kexec_file_load` when the kernel refuses `kexec_load`
/// (lockdown and Secure Boot allow only signed kernels through `kexec_file_load`) or
/// the builder does not know the format. Booted through UEFI, the order turns round:
/// `kexec_file_load` hands the next kernel the EFI runtime services and memory map,
/// which kboot's builder does not pass on yet.
pub(crate) fn load(plan: &KexecPlan, method: KexecMethod) -> Result<Loaded, KexecError> {
    load_with(plan, method, &mut LiveKexec, Path::new("/"))
}

/// [`load`] through `kexec`'s syscalls, for the machine whose `/sys` and `/proc` are
/// under `root` (UEFI or not, memory map, ACPI RSDP).
fn load_with(
    plan: &KexecPlan,
    method: KexecMethod,
    kexec: &mut dyn KexecSyscalls,
    root: &Path,
) -> Result<Loaded, KexecError> {
    let both_refused = |first, then| KexecError::BothRefused {
        first: Box::new(first),
        then: Box::new(then),
    };
    match method {
        KexecMethod::File if !plan.modules.is_empty() => Err(KexecError::ModulesNeedKexecLoad),
        KexecMethod::File if plan.entry_32bit => Err(KexecError::Entry32BitNeedsKexecLoad),
        KexecMethod::File if plan.is_pvh() => Err(KexecError::PvhNeedsKexecLoad),
        KexecMethod::File => file_load(plan, kexec).map(|()| Loaded::file()),
        KexecMethod::Load => load_own(plan, kexec, root).map(Loaded::own),
        // `kexec_file_load` boots Linux kernels alone, at their 64-bit entry: modules
        // mean multiboot (Xen); the 32-bit and PVH entries are kboot's builder's.
        KexecMethod::Auto if !plan.modules.is_empty() || plan.entry_32bit || plan.is_pvh() => {
            load_own(plan, kexec, root).map(Loaded::own)
        }
        KexecMethod::Auto if firmware::booted_through_uefi(root) => match file_load(plan, kexec) {
            Ok(()) => Ok(Loaded::file()),
            Err(refused) if file_load_refusal_allows_load(&refused) => {
                match load_own(plan, kexec, root) {
                    Ok(own) => Ok(Loaded::own(own).after(refused)),
                    Err(then) => Err(both_refused(refused, then)),
                }
            }
            Err(refused) => Err(refused),
        },
        KexecMethod::Auto => match load_own(plan, kexec, root) {
            Ok(own) => Ok(Loaded::own(own)),
            Err(refused) if load_refusal_allows_file_load(&refused) => match file_load(plan, kexec)
            {
                Ok(()) => Ok(Loaded::file().after(refused)),
                Err(then) => Err(both_refused(refused, then)),
            },
            Err(refused) => Err(refused),
        },
    }
}

fn file_load(plan: &KexecPlan, kexec: &mut dyn KexecSyscalls) -> Result<(), KexecError> {
    Ok(kexec.kexec_file_load(&plan.kernel, &plan.ramdisks, &plan.cmdline)?)
}

fn file_load_refusal_allows_load(refused: &KexecError) -> bool {
    matches!(refused, KexecError::Syscall(e) if syscall::file_load_refusal_allows_load(e))
}

/// After kboot's own builder failed: worth asking `kexec_file_load` when the kernel
/// refused `kexec_load` itself, or the builder could not read the memory map or lay out
/// the format; not when the files cannot be read (the kernel would fail the same way).
fn load_refusal_allows_file_load(refused: &KexecError) -> bool {
    match refused {
        KexecError::Syscall(e) => syscall::load_refusal_allows_file_load(e),
        KexecError::Layout { .. } | KexecError::MemMap(_) | KexecError::Decompress { .. } => true,
        _ => false,
    }
}

/// What the `kexec_load` path reports beside success.
struct OwnLoad {
    times: LoadTimes,
    cmdline_added: Vec<&'static str>,
}

/// The `kexec_load` path: build the image from the files and the memory map under `root`,
/// then hand the segments to the kernel.
fn load_own(
    plan: &KexecPlan,
    kexec: &mut dyn KexecSyscalls,
    root: &Path,
) -> Result<OwnLoad, KexecError> {
    let started = Instant::now();
    let (kernel, ramdisk) = read_files(plan)?;
    let modules = read_modules(plan)?;
    let module_bytes: usize = modules.iter().map(|m| m.bytes.len()).sum();
    let bytes_read = (kernel.len() + ramdisk.len() + module_bytes) as u64;
    let read_done = Instant::now();
    let image = lay_out(plan, kernel, ramdisk, modules, root)?;
    let layout_done = Instant::now();
    let segments: Vec<syscall::LoadSegment<'_>> = image
        .segments
        .iter()
        .map(|s| syscall::LoadSegment {
            buf: image.bytes(&s.data),
            mem: s.mem,
            memsz: s.memsz,
        })
        .collect();
    let needed_bytes = segments
        .iter()
        .fold(0u64, |sum, segment| sum.saturating_add(segment.memsz));
    check_memory(needed_bytes, root)?;
    kexec.kexec_load(image.entry, &segments)?;
    // `duration_since` saturates: no arithmetic here can panic PID 1.
    let times = LoadTimes {
        bytes_read,
        read: read_done.duration_since(started),
        layout: layout_done.duration_since(read_done),
        syscall: layout_done.elapsed(),
    };
    let cmdline_added = image
        .boot_info
        .map(|info| info.cmdline_added)
        .unwrap_or_default();
    Ok(OwnLoad {
        times,
        cmdline_added,
    })
}

/// What the kernel needs beyond the segments while it copies them in: page tables, its
/// control pages, the allocator's reserve.
const LOAD_MARGIN_BYTES: u64 = 16 << 20;

/// Refuses a `kexec_load` whose segments do not fit in the memory available: the
/// kernel allocates a copy of every segment (kboot's own copy stays until the syscall
/// returns), and running out there invokes the OOM killer on PID 1, which it cannot
/// kill: the kernel panics. Without a readable `MemAvailable` the load goes ahead.
fn check_memory(needed_bytes: u64, root: &Path) -> Result<(), KexecError> {
    let Ok(meminfo) = std::fs::read_to_string(root.join("proc/meminfo")) else {
        return Ok(());
    };
    let Some(available_bytes) = mem_available_bytes(&meminfo) else {
        return Ok(());
    };
    if needed_bytes.saturating_add(LOAD_MARGIN_BYTES) > available_bytes {
        return Err(KexecError::NotEnoughMemory {
            needed_bytes,
            available_bytes,
        });
    }
    Ok(())
}

/// `MemAvailable:` of `/proc/meminfo`, in bytes.
fn mem_available_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
