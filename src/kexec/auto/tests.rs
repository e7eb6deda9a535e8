use std::io;
use std::path::{Path, PathBuf};

use super::*;
use crate::bytes::{put_le16, put_le32, put_le64};
use crate::kexec::syscall::{LoadSegment, SyscallError};
use crate::kexec::{memmap, KexecMethod};

/// Which call a [`Recording`] backend saw, with what matters to the order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    KexecLoad { segments: usize },
    KexecFileLoad { kernel: PathBuf, cmdline: String },
}

/// A kexec backend that records the calls and refuses them with the errno it is given.
#[derive(Default)]
struct Recording {
    calls: Vec<Call>,
    load_errno: Option<i32>,
    file_load_errno: Option<i32>,
}

impl Recording {
    fn refusing(load_errno: Option<i32>, file_load_errno: Option<i32>) -> Recording {
        Recording {
            calls: Vec::new(),
            load_errno,
            file_load_errno,
        }
    }
}

impl KexecSyscalls for Recording {
    fn kexec_load(&mut self, entry: u64, segments: &[LoadSegment<'_>]) -> Result<(), SyscallError> {
        self.calls.push(Call::KexecLoad {
            segments: segments.len(),
        });
        match self.load_errno {
            Some(errno) => Err(SyscallError::load_failed(
                entry,
                segments,
                io::Error::from_raw_os_error(errno),
            )),
            None => Ok(()),
        }
    }

    fn kexec_file_load(
        &mut self,
        kernel: &Path,
        initrds: &[PathBuf],
        cmdline: &str,
    ) -> Result<(), SyscallError> {
        self.calls.push(Call::KexecFileLoad {
            kernel: kernel.to_path_buf(),
            cmdline: cmdline.to_string(),
        });
        match self.file_load_errno {
            Some(errno) => Err(SyscallError::file_load_failed(
                kernel,
                initrds,
                cmdline.len() + 1,
                io::Error::from_raw_os_error(errno),
            )),
            None => Ok(()),
        }
    }
}

/// A minimal 64-bit bzImage kboot's builder lays out (protocol 2.15, relocatable,
/// 2 MiB alignment, 16 MiB preferred address, a 0x3000-byte payload).
fn bzimage() -> Vec<u8> {
    let mut k = vec![0u8; 4 * 512 + 0x3000];
    k[0x1f1] = 3;
    put_le32(&mut k, 0x1f4, 0x3000u32 / 16);
    put_le16(&mut k, 0x1fe, 0xaa55u16);
    k[0x200..0x202].copy_from_slice(&[0xeb, 0x6a]);
    k[0x202..0x206].copy_from_slice(b"HdrS");
    put_le16(&mut k, 0x206, 0x020fu16);
    put_le32(&mut k, 0x22c, 0x7fff_ffffu32);
    put_le32(&mut k, 0x230, 0x20_0000u32);
    k[0x234] = 1;
    put_le16(&mut k, 0x236, 0x7fu16);
    put_le32(&mut k, 0x238, 0x7ffu32);
    put_le64(&mut k, 0x258, 0x100_0000u64);
    put_le32(&mut k, 0x260, 0x2_0100u32);
    k
}

/// A machine under a temporary root: 1 GiB of RAM in `/sys/firmware/memmap`, booted
/// through UEFI or not, with `kernel` and a ramdisk in it.
struct Machine {
    root: tempfile::TempDir,
    plan: KexecPlan,
}

fn machine(uefi: bool, kernel: &[u8]) -> Machine {
    let root = tempfile::tempdir().unwrap();
    let entry = root.path().join("sys/firmware/memmap/0");
    std::fs::create_dir_all(&entry).unwrap();
    std::fs::write(entry.join("start"), "0x100000\n").unwrap();
    std::fs::write(entry.join("end"), "0x3fffffff\n").unwrap();
    std::fs::write(entry.join("type"), "System RAM\n").unwrap();
    if uefi {
        std::fs::create_dir_all(root.path().join("sys/firmware/efi")).unwrap();
    }
    let kernel_path = root.path().join("vmlinuz");
    std::fs::write(&kernel_path, kernel).unwrap();
    let ramdisk = root.path().join("initrd.img");
    std::fs::write(&ramdisk, [7u8; 100]).unwrap();
    let plan = KexecPlan {
        kernel: kernel_path,
        ramdisks: vec![ramdisk],
        cmdline: "console=ttyS0 ro".into(),
        modules: Vec::new(),
        loader_type: None,
        entry_32bit: false,
    };
    Machine { root, plan }
}

impl Machine {
    fn load(&self, method: KexecMethod, kexec: &mut Recording) -> Result<Loaded, KexecError> {
        load_with(&self.plan, method, kexec, self.root.path())
    }

    fn file_load_call(&self) -> Call {
        Call::KexecFileLoad {
            kernel: self.plan.kernel.clone(),
            cmdline: self.plan.cmdline.clone(),
        }
    }
}

/// kboot's builder lays a bzImage with a ramdisk out in four segments.
const OWN_LOAD: Call = Call::KexecLoad { segments: 4 };

#[test]
fn auto_loads_with_kboots_builder_first_and_stops_there_when_it_works() {
    let m = machine(false, &bzimage());
    let mut kexec = Recording::default();
    let loaded = m.load(KexecMethod::Auto, &mut kexec).unwrap();
    assert_eq!(kexec.calls, [OWN_LOAD]);
    assert_eq!(loaded.via, LoadSyscall::KexecLoad);
    assert_eq!(loaded.via.to_string(), "kexec_load");
    assert!(loaded.refused.is_none());
    assert!(loaded.times.is_some());
}

#[test]
fn auto_asks_kexec_file_load_after_kexec_load_is_refused_with_eperm_or_enosys() {
    for errno in [libc::EPERM, libc::ENOSYS] {
        let m = machine(false, &bzimage());
        let mut kexec = Recording::refusing(Some(errno), None);
        let loaded = m.load(KexecMethod::Auto, &mut kexec).unwrap();
        assert_eq!(kexec.calls, [OWN_LOAD, m.file_load_call()], "{errno}");
        assert_eq!(loaded.via, LoadSyscall::KexecFileLoad);
        assert_eq!(loaded.via.to_string(), "kexec_file_load");
        assert!(loaded.times.is_none());
        let refused = loaded.refused.unwrap();
        assert!(
            matches!(*refused, KexecError::Syscall(SyscallError::Load { ref source, .. })
                if source.raw_os_error() == Some(errno)),
            "{refused:?}"
        );
    }
}

#[test]
fn auto_names_both_refusals_when_kexec_file_load_fails_too() {
    let m = machine(false, &bzimage());
    let mut kexec = Recording::refusing(Some(libc::EPERM), Some(libc::EPERM));
    let err = m.load(KexecMethod::Auto, &mut kexec).unwrap_err();
    assert_eq!(kexec.calls, [OWN_LOAD, m.file_load_call()]);
    assert!(matches!(err, KexecError::BothRefused { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("kexec_load(entry 0x")
            && message.contains("; then kexec_file_load(kernel ")
            && message.matches("Operation not permitted").count() == 2,
        "{message}"
    );
}

#[test]
fn auto_stops_after_a_kexec_load_refusal_kexec_file_load_would_share() {
    let m = machine(false, &bzimage());
    let mut kexec = Recording::refusing(Some(libc::ENOMEM), None);
    let err = m.load(KexecMethod::Auto, &mut kexec).unwrap_err();
    assert_eq!(kexec.calls, [OWN_LOAD]);
    assert!(
        matches!(err, KexecError::Syscall(SyscallError::Load { ref source, .. })
            if source.raw_os_error() == Some(libc::ENOMEM)),
        "{err:?}"
    );
}

#[test]
fn auto_asks_kexec_file_load_when_kboots_builder_cannot_lay_the_kernel_out() {
    let m = machine(false, &[b'x'; 4096]);
    let mut kexec = Recording::default();
    let loaded = m.load(KexecMethod::Auto, &mut kexec).unwrap();
    assert_eq!(kexec.calls, [m.file_load_call()], "no kexec_load at all");
    assert_eq!(loaded.via, LoadSyscall::KexecFileLoad);
    let refused = loaded.refused.unwrap();
    assert!(matches!(*refused, KexecError::Layout { .. }), "{refused:?}");
    assert!(refused.to_string().contains("no loader recognises"));
}

#[test]
fn auto_calls_nothing_when_a_ramdisk_cannot_be_read() {
    let mut m = machine(false, &bzimage());
    m.plan.ramdisks.push(m.root.path().join("nosuch"));
    let mut kexec = Recording::default();
    let err = m.load(KexecMethod::Auto, &mut kexec).unwrap_err();
    assert_eq!(kexec.calls, []);
    assert!(matches!(err, KexecError::ReadFile { .. }), "{err:?}");
}

#[test]
fn under_uefi_auto_asks_kexec_file_load_first() {
    let m = machine(true, &bzimage());
    let mut kexec = Recording::default();
    let loaded = m.load(KexecMethod::Auto, &mut kexec).unwrap();
    assert_eq!(kexec.calls, [m.file_load_call()]);
    assert_eq!(loaded.via, LoadSyscall::KexecFileLoad);
    assert!(loaded.refused.is_none());
}

#[test]
fn under_uefi_auto_falls_back_to_kboots_builder_after_a_refusal_it_may_not_share() {
    let m = machine(true, &bzimage());
    let mut kexec = Recording::refusing(None, Some(libc::ENOEXEC));
    let loaded = m.load(KexecMethod::Auto, &mut kexec).unwrap();
    assert_eq!(kexec.calls, [m.file_load_call(), OWN_LOAD]);
    assert_eq!(loaded.via, LoadSyscall::KexecLoad);
    assert!(loaded.times.is_some());
    let refused = loaded.refused.unwrap();
    assert!(
        matches!(*refused, KexecError::Syscall(SyscallError::FileLoad { ref source, .. })
            if source.raw_os_error() == Some(libc::ENOEXEC)),
        "{refused:?}"
    );

    let mut kexec = Recording::refusing(None, Some(libc::ENOMEM));
    let err = m.load(KexecMethod::Auto, &mut kexec).unwrap_err();
    assert_eq!(kexec.calls, [m.file_load_call()]);
    assert!(matches!(
        err,
        KexecError::Syscall(SyscallError::FileLoad { .. })
    ));

    let mut kexec = Recording::refusing(Some(libc::EPERM), Some(libc::EPERM));
    let err = m.load(KexecMethod::Auto, &mut kexec).unwrap_err();
    assert_eq!(kexec.calls, [m.file_load_call(), OWN_LOAD]);
    assert!(err.to_string().starts_with("kexec_file_load(kernel "));
}

#[test]
fn file_and_load_methods_make_their_one_call_and_never_fall_back() {
    for uefi in [false, true] {
        let m = machine(uefi, &bzimage());
        let mut kexec = Recording::refusing(Some(libc::EPERM), Some(libc::EPERM));
        assert!(m.load(KexecMethod::File, &mut kexec).is_err());
        assert_eq!(kexec.calls, [m.file_load_call()]);
        let mut kexec = Recording::refusing(Some(libc::EPERM), Some(libc::EPERM));
        assert!(m.load(KexecMethod::Load, &mut kexec).is_err());
        assert_eq!(kexec.calls, [OWN_LOAD]);

        let mut kexec = Recording::default();
        let loaded = m.load(KexecMethod::File, &mut kexec).unwrap();
        assert_eq!(loaded.via, LoadSyscall::KexecFileLoad);
        let loaded = m.load(KexecMethod::Load, &mut kexec).unwrap();
        assert_eq!(loaded.via, LoadSyscall::KexecLoad);
        assert_eq!(kexec.calls, [m.file_load_call(), OWN_LOAD]);
    }
}

#[test]
fn a_memory_map_kboot_cannot_read_sends_auto_to_kexec_file_load() {
    let m = machine(false, &bzimage());
    std::fs::remove_dir_all(m.root.path().join("sys/firmware/memmap")).unwrap();
    let mut kexec = Recording::default();
    let loaded = m.load(KexecMethod::Auto, &mut kexec).unwrap();
    assert_eq!(kexec.calls, [m.file_load_call()]);
    assert!(matches!(
        *loaded.refused.unwrap(),
        KexecError::MemMap(memmap::MemMapError::NoRam { .. })
    ));
}

#[test]
fn auto_falls_back_only_on_refusals_kexec_load_may_not_share() {
    let refusal = |errno| syscall::SyscallError::FileLoad {
        kernel: PathBuf::from("/boot/vmlinuz"),
        initrds: Vec::new(),
        cmdline_len: 1,
        source: io::Error::from_raw_os_error(errno),
        hint: "",
    };
    for errno in [
        libc::ENOSYS,
        libc::ENOEXEC,
        libc::EINVAL,
        libc::EKEYREJECTED,
        libc::EPERM,
    ] {
        assert!(
            syscall::file_load_refusal_allows_load(&refusal(errno)),
            "{errno}"
        );
    }
    for errno in [libc::ENOMEM, libc::EBUSY, libc::ENOENT] {
        assert!(
            !syscall::file_load_refusal_allows_load(&refusal(errno)),
            "{errno}"
        );
    }
}

#[test]
fn auto_tries_kexec_file_load_after_kboots_builder_only_when_it_may_help() {
    let refusal = |errno| {
        KexecError::Syscall(syscall::SyscallError::Load {
            entry: 0x10_2000,
            segments: vec![(0x100_0000, 0x10_0000)],
            source: io::Error::from_raw_os_error(errno),
            hint: "",
        })
    };
    // Lockdown or Secure Boot (EPERM), a kernel without CONFIG_KEXEC (ENOSYS).
    for errno in [libc::EPERM, libc::ENOSYS] {
        assert!(load_refusal_allows_file_load(&refusal(errno)), "{errno}");
    }
    for errno in [libc::ENOMEM, libc::EBUSY, libc::EINVAL] {
        assert!(!load_refusal_allows_file_load(&refusal(errno)), "{errno}");
    }
    // A format or memory map the builder cannot handle: the kernel may.
    let memmap = KexecError::MemMap(memmap::MemMapError::NoRam {
        sysfs: PathBuf::from("/sys/firmware/memmap"),
        iomem: PathBuf::from("/proc/iomem"),
    });
    assert!(load_refusal_allows_file_load(&memmap));
    // The files themselves cannot be read: the kernel would fail the same way.
    let unreadable = KexecError::ReadFile {
        path: PathBuf::from("/boot/initrd.img"),
        source: io::Error::from_raw_os_error(libc::EIO),
    };
    assert!(!load_refusal_allows_file_load(&unreadable));
}

impl Machine {
    fn with_mem_available_kib(self, kib: u64) -> Machine {
        let proc = self.root.path().join("proc");
        std::fs::create_dir_all(&proc).unwrap();
        std::fs::write(
            proc.join("meminfo"),
            format!("MemTotal:         250000 kB\nMemFree:            1000 kB\nMemAvailable:   {kib:>8} kB\n"),
        )
        .unwrap();
        self
    }
}

#[test]
fn kexec_load_is_not_called_when_its_segments_do_not_fit_in_available_memory() {
    let m = machine(false, &bzimage()).with_mem_available_kib(4096);
    let mut kexec = Recording::default();
    let err = m.load(KexecMethod::Auto, &mut kexec).unwrap_err();
    assert_eq!(kexec.calls, [], "neither syscall: both would copy as much");
    assert!(
        matches!(err, KexecError::NotEnoughMemory { available_bytes, .. } if available_bytes == 4096 * 1024),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("not enough memory") && message.contains("4 MiB are available"),
        "{message}"
    );
}

#[test]
fn kexec_load_goes_ahead_when_memory_is_plenty_or_meminfo_unreadable() {
    let m = machine(false, &bzimage()).with_mem_available_kib(900_000);
    let mut kexec = Recording::default();
    m.load(KexecMethod::Load, &mut kexec).unwrap();
    assert_eq!(kexec.calls, [OWN_LOAD]);
    let m = machine(false, &bzimage()).with_mem_available_kib(900_000);
    std::fs::write(m.root.path().join("proc/meminfo"), "garbage").unwrap();
    let mut kexec = Recording::default();
    m.load(KexecMethod::Load, &mut kexec).unwrap();
    assert_eq!(kexec.calls, [OWN_LOAD]);
}

#[test]
fn mem_available_is_read_in_bytes() {
    let meminfo = "MemTotal:        1000 kB\nMemAvailable:     2048 kB\n";
    assert_eq!(mem_available_bytes(meminfo), Some(2048 * 1024));
    assert_eq!(mem_available_bytes("MemTotal: 1 kB\n"), None);
}

#[test]
fn the_32bit_entry_goes_through_kboots_builder_only() {
    for uefi in [false, true] {
        let mut m = machine(uefi, &bzimage());
        m.plan.entry_32bit = true;
        let mut kexec = Recording::refusing(Some(libc::EPERM), None);
        let err = m.load(KexecMethod::Auto, &mut kexec).unwrap_err();
        assert_eq!(kexec.calls, [OWN_LOAD], "no kexec_file_load fallback");
        assert!(matches!(err, KexecError::Syscall(_)), "{err:?}");
        let mut kexec = Recording::default();
        assert!(matches!(
            m.load(KexecMethod::File, &mut kexec),
            Err(KexecError::Entry32BitNeedsKexecLoad)
        ));
        assert!(kexec.calls.is_empty());
    }
}

#[test]
fn the_pvh_entry_goes_through_kboots_builder_only() {
    for uefi in [false, true] {
        // This bzImage's payload is no vmlinux with a PVH note: the builder refuses
        // it, and kexec_file_load (the 64-bit entry) is not tried instead.
        let mut m = machine(uefi, &bzimage());
        m.plan.loader_type = Some("pvh".into());
        let mut kexec = Recording::default();
        let err = m.load(KexecMethod::Auto, &mut kexec).unwrap_err();
        assert!(matches!(err, KexecError::Layout { .. }), "{err:?}");
        assert!(kexec.calls.is_empty(), "no kexec_file_load fallback");
        let mut kexec = Recording::default();
        assert!(matches!(
            m.load(KexecMethod::File, &mut kexec),
            Err(KexecError::PvhNeedsKexecLoad)
        ));
        assert!(kexec.calls.is_empty());
    }
}
