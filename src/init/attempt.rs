//! One try at booting: mount root (and boot), collect the entries, show the menu or
//! take the default, kexec the chosen entry. An entry that fails to boot is marked and
//! the menu comes back; the user can also ask for a rescan or the rescue prompt, which
//! end the attempt without being failures.

use crate::report::Chain;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::devices::blockdev;
use crate::devices::mount::{self, MountError};
use crate::devices::spec::DeviceSpec;
use crate::kexec::hypervisor::{GrantSpace, Hypervisor, XenGuestType};
use crate::kexec::{self, BootModule, KexecMethod, KexecPlan};
use crate::select::scan::ScanRequest;
use crate::select::{self, BootEntry, KernelKind, Source};

use super::menu::{self, MenuItem, Outcome};
use super::root::Role;
use super::{choose, log, Boot, BOOT_MOUNT, ROOT_MOUNT};

/// How an attempt ended without booting (a kexec that works never returns).
#[derive(Debug)]
pub(crate) enum Attempt {
    /// The user asked the menu to look for devices again.
    Rescan,
    /// The user asked the menu for the rescue prompt.
    Rescue,
    /// Something failed before a menu could be shown.
    Failed(BootError),
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum BootError {
    #[error("no root= on the command line and no filesystem with kernels in /boot found after {waited_secs} s: add root=UUID=… or root=LABEL=… (type `devices` to see what is there)")]
    NoRootFound { waited_secs: u64 },
    #[error("{what} device {spec} not found after {waited_secs} s (filesystems seen: {}): check {what}= (type `devices` to list the disks), or add rootwait if the disk is slow to appear", list_or_none(.seen))]
    DeviceNotFound {
        what: Role,
        spec: DeviceSpec,
        waited_secs: u64,
        /// The filesystems that were there (`BlockDevice::summary`).
        seen: Vec<String>,
    },
    #[error(
        "{what} device {spec}: {reason}; boot from a linear or striped LV, or name another device"
    )]
    Refused {
        what: Role,
        spec: DeviceSpec,
        reason: String,
    },
    #[error("cannot list block devices: {0}")]
    Devices(#[from] blockdev::BlockdevError),
    #[error(transparent)]
    Mount(#[from] MountError),
    #[error("{0}")]
    Select(#[from] select::SelectError),
    #[error("{title}: {} not found on its filesystem; the config names a file that is not there: pick another entry, or edit the paths with kernel=/ramdisk=", missing.join(", "))]
    MissingFiles { title: String, missing: Vec<String> },
    #[error("{title}: cannot boot: {reason}; choose another entry")]
    CannotBoot { title: String, reason: String },
    #[error("kboot.default={0} names no entry: use a number from the list, a version or a title")]
    NoSuchDefault(String),
    #[error("kernel {kernel} cannot be booted: {source}; choose another kernel (kernel=PATH) or reinstall this one")]
    Kernel {
        kernel: String,
        #[source]
        source: kexec::KexecError,
    },
    #[error(
        "kboot runs in a Xen PV guest, where kexec cannot work (Xen resets only HVM and \
         PVH guests for a kexec; this guest would be shut down): make it a PVH guest, \
         type=\"pvh\" in its xl configuration"
    )]
    XenPvGuest,
    #[error(transparent)]
    Kexec(#[from] kexec::KexecError),
}

/// A list as an error shows it: comma-separated, or `none`.
fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// What an attempt offers: the entries, the default and the menu's timeout.
struct Offered {
    entries: Vec<BootEntry>,
    default: usize,
    timeout_secs: i64,
}

impl Boot {
    /// One try at booting. Returns only when nothing was booted.
    pub(crate) fn attempt(&mut self) -> Attempt {
        match self.offer() {
            Ok(offered) => self.choose_and_boot(&offered),
            Err(e) => Attempt::Failed(e),
        }
    }

    /// Mounts root (and boot) and collects the entries they offer.
    fn offer(&mut self) -> Result<Offered, BootError> {
        let (boot_mount, target_cmdline) = self.mount_root_and_boot()?;
        let request = ScanRequest {
            root: Path::new(ROOT_MOUNT),
            boot: boot_mount.as_deref(),
            kernel: self.cmdline.kernel.as_deref(),
            ramdisk: self.cmdline.ramdisk.as_deref(),
            modules: &self.cmdline.modules,
            cmdline: &target_cmdline,
            append: self.cmdline.append.as_deref(),
        };
        let collected = select::collect(&request)?;
        for warning in &collected.warnings {
            log::warn(Chain(warning));
        }
        let entries = collected.entries;
        let sources: BTreeSet<&str> = entries.iter().map(|e| e.source.name()).collect();
        log::say(format!(
            "found {} entr{} ({})",
            entries.len(),
            if entries.len() == 1 { "y" } else { "ies" },
            sources.into_iter().collect::<Vec<_>>().join(", ")
        ));
        // kboot.default= on the command line wins over what the configs say.
        let default = match self.cmdline.default_entry.as_deref() {
            Some(wanted) => {
                let named = choose::default_index(&entries, Some(wanted))
                    .ok_or_else(|| BootError::NoSuchDefault(wanted.to_string()))?;
                let (default, unbootable) = select::bootable_default(&entries, named);
                if let Some(unbootable) = unbootable {
                    log::warn(format!("kboot.default={wanted}: {unbootable}"));
                }
                default
            }
            // collect has said so when the configs' default cannot be booted.
            None => collected.default_index,
        };
        let timeout_secs = self
            .cmdline
            .timeout_secs
            .or(collected.timeout_secs)
            .unwrap_or(choose::DEFAULT_TIMEOUT_SECS);
        Ok(Offered {
            entries,
            default,
            timeout_secs,
        })
    }

    /// Unmounts what an earlier attempt left (a retry starts clean), then waits for
    /// and mounts root and boot. Returns where boot is mounted, if it is separate, and
    /// the target's command line (with the `root=` kboot found when none was given).
    fn mount_root_and_boot(&mut self) -> Result<(Option<PathBuf>, String), BootError> {
        for target in [BOOT_MOUNT, ROOT_MOUNT] {
            let _ = mount::unmount(Path::new(target));
        }
        let discovered_root = match self.cmdline.root.clone() {
            Some(spec) => {
                let root = self.wait_for(Role::Root, &spec)?;
                self.mount(&root, Role::Root)?;
                None
            }
            None => Some(self.discover_root()?),
        };
        let boot_mount = match self.cmdline.boot.clone() {
            Some(spec) => {
                let boot = self.wait_for(Role::Boot, &spec)?;
                self.mount(&boot, Role::Boot)?;
                Some(PathBuf::from(BOOT_MOUNT))
            }
            None => None,
        };
        let target_cmdline = match discovered_root {
            Some(root_word) => format!("{root_word} {}", self.cmdline.target_cmdline())
                .trim_end()
                .to_string(),
            None => self.cmdline.target_cmdline(),
        };
        Ok((boot_mount, target_cmdline))
    }

    /// The menu (or the default, when no menu is shown) until the user leaves it: an
    /// entry that fails to boot is marked and the menu comes back.
    fn choose_and_boot(&mut self, offered: &Offered) -> Attempt {
        let Offered {
            entries,
            default,
            timeout_secs,
        } = offered;
        loop {
            let items = self.menu_items(entries);
            let (index, cmdline) = if menu::should_show(self.cmdline.menu, &items, *timeout_secs) {
                match menu::run_menu(&items, *default, *timeout_secs, self.cmdline.lock) {
                    Outcome::Boot { index, cmdline } => (index, cmdline),
                    Outcome::Rescan => return Attempt::Rescan,
                    Outcome::Rescue | Outcome::Continue => return Attempt::Rescue,
                }
            } else {
                (*default, entries[*default].cmdline.clone())
            };
            let Some(entry) = entries.get(index) else {
                continue;
            };
            // Returns only on failure: the entry is marked and the menu comes back.
            let failure = self.boot_entry(entry, &cmdline);
            log::error(Chain(&failure));
            self.failed.insert(entry_key(entry), failure.to_string());
        }
    }

    /// The menu's lines: each entry with its files, where it came from (or what is
    /// missing), and why it failed last time.
    fn menu_items(&self, entries: &[BootEntry]) -> Vec<MenuItem> {
        entries
            .iter()
            .map(|e| MenuItem {
                title: e.title.clone(),
                detail: if e.cannot_boot.is_some() {
                    format!("({})", e.source.name())
                } else if e.missing.is_empty() {
                    format!("{} ({})", files_shown(e), e.source.name())
                } else {
                    format!("{} (MISSING: {})", files_shown(e), e.missing.join(", "))
                },
                cmdline: e.cmdline.clone(),
                problem: self.failed.get(&entry_key(e)).cloned(),
                cannot_boot: e.cannot_boot.clone(),
            })
            .collect()
    }

    /// Boots `entry` with `cmdline` (the entry's own, or as edited in the menu).
    /// Returns only on failure.
    fn boot_entry(&mut self, entry: &BootEntry, cmdline: &str) -> BootError {
        if let Some(reason) = &entry.cannot_boot {
            return BootError::CannotBoot {
                title: entry.title.clone(),
                reason: reason.clone(),
            };
        }
        if !entry.missing.is_empty() {
            return BootError::MissingFiles {
                title: entry.title.clone(),
                missing: entry.missing.clone(),
            };
        }
        let hypervisor = kexec::hypervisor::detect(&self.sys_root);
        let plan = match plan_for_guest(
            kexec_plan(entry, cmdline),
            entry.kind.is_linux(),
            hypervisor,
            self.cmdline.kexec,
        ) {
            Ok(plan) => plan,
            Err(e) => return e,
        };
        if plan.is_pvh() {
            log::say("in a Xen PVH guest: entering the kernel through its PVH entry");
        }
        if hypervisor == Hypervisor::Xen(XenGuestType::Pvh) {
            say_grant_space(kexec::hypervisor::grant_space(Path::new(PROC_IOMEM)));
        }
        // A multiboot kernel is not a bzImage: its loader reads its headers in load.
        let checked = if entry.kind.is_linux() {
            kexec::check_kernel(&plan.kernel).map(|_| ())
        } else {
            Ok(())
        };
        if let Err(source) = checked {
            return BootError::Kernel {
                kernel: entry.kernel.clone(),
                source,
            };
        }
        log::say(format!(
            "booting {} cmdline \"{cmdline}\"",
            files_shown(entry)
        ));
        let loaded = match kexec::load(&plan, self.cmdline.kexec) {
            Ok(loaded) => loaded,
            Err(e) => return BootError::Kexec(e),
        };
        if let Some(refused) = &loaded.refused {
            log::warn(format!(
                "{}; loaded with {} instead",
                Chain(refused.as_ref()),
                loaded.via
            ));
        }
        if !loaded.cmdline_added.is_empty() {
            log::say(format!(
                "added \"{}\" to the kernel's command line",
                loaded.cmdline_added.join(" ")
            ));
        }
        if let Some(times) = &loaded.times {
            log::say(times);
        }
        // The kernel holds its own copies now; leave the disks cleanly unmounted.
        for target in [BOOT_MOUNT, ROOT_MOUNT] {
            if let Err(e) = mount::unmount(Path::new(target)) {
                log::warn(format!("cannot unmount {target}: {e}", e = Chain(&e)));
            }
        }
        self.storage.release(&self.sys_root);
        log::say(format!(
            "kernel loaded with {}; rebooting into it",
            loaded.via
        ));
        BootError::Kexec(kexec::KexecError::Syscall(
            kexec::syscall::reboot_into_loaded(),
        ))
    }
}

/// What identifies an entry across rescans: its kernel, ramdisk paths and modules
/// (Xen's entries share the kernel), and the title of one that names no kernel.
pub(super) type EntryKey = (String, Vec<String>, String, String);

pub(super) fn entry_key(entry: &BootEntry) -> EntryKey {
    let title = if entry.kernel.is_empty() {
        entry.title.clone()
    } else {
        String::new()
    };
    (
        entry.kernel.clone(),
        entry.ramdisks.clone(),
        entry.modules_shown(),
        title,
    )
}

/// The plan that boots `entry` with `cmdline`: its files as found inside its
/// filesystem, the modules with their command lines (path first) in order.
fn kexec_plan(entry: &BootEntry, cmdline: &str) -> KexecPlan {
    KexecPlan {
        kernel: entry.kernel_file(),
        ramdisks: entry.ramdisk_files(),
        cmdline: cmdline.to_string(),
        modules: entry
            .module_files()
            .into_iter()
            .map(|(file, cmdline)| BootModule { file, cmdline })
            .collect(),
        loader_type: loader_type(entry).map(str::to_string),
        entry_32bit: false,
    }
}

/// Where the running kernel lists its address space.
const PROC_IOMEM: &str = "/proc/iomem";

/// Says where the running kernel of a PVH guest keeps its grant table. Over RAM
/// pages (a kernel without `CONFIG_XEN_UNPOPULATED_ALLOC`), those pages stay holes
/// or grant frames through the soft reset, and the next kernel, which takes them for
/// RAM, loses what it writes there: a warning, as the next kernel may still boot.
fn say_grant_space(space: Option<GrantSpace>) {
    match space {
        Some(GrantSpace::Scratch { start, end }) => log::say(format!(
            "this kernel's grant table lies outside RAM (Xen scratch {start:#x}-{:#x})",
            end.saturating_sub(1)
        )),
        Some(GrantSpace::Ram) => log::warn(
            "this kernel mapped its Xen grant table over RAM, which stays unusable after \
             the soft reset: the next kernel may crash or lose data; boot the guest with \
             a kboot kernel built with CONFIG_XEN_UNPOPULATED_ALLOC (kernel/kboot.config)",
        ),
        None => {}
    }
}

/// The loader type of the PVH entry (`kexec::loader::pvh`).
const PVH_TYPE: &str = "pvh";

/// What running in a Xen guest changes for `plan`: nothing outside Xen; a PV guest
/// cannot kexec at all; in a PVH guest a Linux kernel whose loader is not named
/// otherwise is entered through its PVH entry (kboot's builder, `kexec_load`), so it
/// boots as a PVH guest with its ACPI tables, unless `kboot.kexec=file` asks for the
/// running kernel's loader (which enters at the 64-bit Linux entry).
pub(super) fn plan_for_guest(
    mut plan: KexecPlan,
    is_linux: bool,
    hypervisor: Hypervisor,
    method: KexecMethod,
) -> Result<KexecPlan, BootError> {
    match hypervisor {
        Hypervisor::Xen(XenGuestType::Pv) => Err(BootError::XenPvGuest),
        Hypervisor::Xen(XenGuestType::Pvh)
            if is_linux && plan.loader_type.is_none() && method != KexecMethod::File =>
        {
            plan.loader_type = Some(PVH_TYPE.to_string());
            Ok(plan)
        }
        _ => Ok(plan),
    }
}

/// The loader a grub.cfg entry names by its command, as GRUB would use it: `multiboot`
/// is version 1 even for an image with both headers. Otherwise the image's headers
/// decide (`kernel=` with `kboot.module=`, Linux entries).
fn loader_type(entry: &BootEntry) -> Option<&'static str> {
    match (entry.kind, entry.source) {
        (KernelKind::Multiboot2, _) => Some("multiboot2-x86"),
        (KernelKind::Multiboot, Source::Grub) => Some("multiboot-x86"),
        _ => None,
    }
}

/// What an entry boots, as the menu and the boot line say it: the kernel and its
/// ramdisks, or a multiboot kernel (Xen) with its modules in order.
fn files_shown(entry: &BootEntry) -> String {
    if entry.kind.is_linux() {
        format!("{} initrd {}", entry.kernel, entry.ramdisks_shown())
    } else {
        let modules: Vec<String> = entry
            .modules
            .iter()
            .map(|m| format!("module \"{}\"", m.cmdline()))
            .collect();
        format!(
            "{} {} {}",
            entry.kind.name(),
            entry.kernel,
            modules.join(" ")
        )
        .trim_end()
        .to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
