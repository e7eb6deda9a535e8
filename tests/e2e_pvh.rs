//! The PVH boot protocol, proven in QEMU (TCG) without Xen: QEMU itself starts Linux
//! through its PVH entry (`-kernel vmlinux`), so a kexec into that entry works in a
//! plain guest too. `kboot kexec -c -l vmlinuz --type pvh` takes the vmlinux out of the
//! fixture's bzImage (CONFIG_PVH=y), lays out its PT_LOADs and an `hvm_start_info`,
//! and the purgatory enters `pvh_start_xen` in 32-bit protected mode with `ebx` = the
//! start info.
//!
//! The next kernel's ramdisk is a probe built here (busybox): it prints the marker
//! line (its ramdisk's name, kernel release and command line: what kboot gave it) and
//! what shows the way it came in: `/proc/sys/kernel/bootloader_type` is 0xb0 (176)
//! only for a kernel started at its PVH entry outside Xen (Linux's
//! arch/x86/platform/pvh/enlighten.c writes 0xb0, "Qemu", into its own boot_params),
//! where kboot's Linux protocol writes 0xff; and the ACPI RSDP the kernel used, which
//! must be the start info's `rsdp_paddr`.
//!
//! The guest is the fixture kernel with a busybox initramfs around this build's kboot
//! that prints the dry-run plan, loads with kexec_load and runs `kboot kexec -e`.
//! Needs busybox-static and cpio (tests/setup-debian.sh installs them).

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::PathBuf;

use common::busybox::{busybox_initramfs, plan_from, work_dir};
use common::{fixtures, is_marker_line, DrivesBootSpec, Marker, Qemu};

/// The next kernel's command line; `kboot-e2e=pvh` shows it is the one kboot loaded.
const NEXT_APPEND: &str = "console=ttyS0 panic=-1 kboot-e2e=pvh";

/// The first kernel's /init.
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo "=== PLAN BEGIN"
/bin/kboot kexec -c -l /k/vmlinuz @TYPE@ --initrd /k/probe --append "@APPEND@" --dry-run
echo "=== PLAN END rc=$?"
/bin/kboot kexec -c -l /k/vmlinuz @TYPE@ --initrd /k/probe --append "@APPEND@"
echo "=== LOADED rc=$?"
/bin/kboot kexec -e
echo "=== EXEC FAILED rc=$?"
/bin/busybox poweroff -f
"#;

/// The next kernel's /init: the marker line, then how the kernel was entered.
const PROBE_INIT: &str = r#"#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo 1 >/proc/sys/kernel/printk
echo "KBOOT-MARKER ramdisk=pvh-probe kernel=$(/bin/busybox uname -r) cmdline=$(/bin/busybox cat /proc/cmdline)" >/dev/console
rsdp=$(/bin/busybox dmesg | /bin/busybox grep -o 'ACPI: RSDP 0x[0-9A-Fa-f]*' | /bin/busybox head -n 1)
tables=$(/bin/busybox ls /sys/firmware/acpi/tables 2>/dev/null | /bin/busybox tr '\n' ,)
echo "KBOOT-PVH-PROBE bootloader_type=$(/bin/busybox cat /proc/sys/kernel/bootloader_type) rsdp=${rsdp##* } tables=$tables" >/dev/console
/bin/busybox poweroff -f
"#;

/// `name=value` from the probe's line.
fn probe_field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name}= in {line}"))
}

fn hex(value: &serde_json::Value) -> u64 {
    u64::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// What one boot showed (past the marker line, checked): the plan, the probe's line.
struct Booted {
    plan: serde_json::Value,
    probe_line: String,
}

/// Boots the fixture kernel, whose /init has kboot load it again (`type_args`: the
/// loader options) with the probe and kexec into it.
fn boot_into_probe(name: &str, type_args: &str) -> Booted {
    let f = fixtures();
    let work = work_dir(name);
    let probe = busybox_initramfs(&work, "probe", PROBE_INIT, &[]);
    let kboot = PathBuf::from(env!("CARGO_BIN_EXE_kboot"));
    let kernel = f.path("KERNEL_IMAGE");
    let first = busybox_initramfs(
        &work,
        "first",
        &INIT
            .replace("@APPEND@", NEXT_APPEND)
            .replace("@TYPE@", type_args),
        &[
            ("bin/kboot", &kboot),
            ("k/vmlinuz", &kernel),
            ("k/probe", &probe),
        ],
    );
    let mut qemu = Qemu::start_with_drives(&DrivesBootSpec {
        name,
        kernel: &kernel,
        initrd: Some(&first),
        append: "console=ttyS0 panic=-1 rdinit=/init quiet",
        drives: &[],
        extra_args: &[],
    });
    qemu.expect_text("=== LOADED rc=0");
    let plan = plan_from(&qemu.transcript());
    let marker_line = qemu.expect_line("the marker line", is_marker_line);
    let probe_line = qemu.expect_line("the probe's line", |l| l.contains("KBOOT-PVH-PROBE "));
    qemu.expect_exit();
    qemu.check_no_panic();
    let marker = Marker::parse(&marker_line).unwrap();
    assert_eq!(marker.ramdisk, "pvh-probe");
    assert_eq!(marker.kernel_release, f.kernel_version());
    assert_eq!(marker.cmdline.trim(), NEXT_APPEND);
    if let Some(info) = plan.get("pvh_start_info") {
        let size = hex(&info["modules"][0]["size"]);
        assert_eq!(size, fs::metadata(&probe).unwrap().len(), "{plan:#}");
    }
    Booted {
        plan,
        probe_line: probe_line.trim().to_string(),
    }
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kexec_type_pvh_boots_the_cloud_kernel_through_its_pvh_entry() {
    let Booted { plan, probe_line } = boot_into_probe(
        "kexec_type_pvh_boots_the_cloud_kernel_through_its_pvh_entry",
        "--type pvh",
    );
    let probe_line = probe_line.as_str();
    // The plan: the PVH entry, ebx = the start info, the probe as module 0.
    let info = &plan["pvh_start_info"];
    assert_eq!(plan["loader"], "PVH", "{plan:#}");
    assert_eq!(plan["regs"]["mode"], "protected32", "{plan:#}");
    assert_eq!(plan["regs"]["eip"], info["entry"], "{plan:#}");
    assert_eq!(plan["regs"]["ebx"], info["start_info_paddr"], "{plan:#}");
    assert_eq!(info["magic"], "0x336ec578");
    assert_eq!(info["cmdline"], NEXT_APPEND);
    // The next kernel had the command line and ramdisk kboot gave it
    // (`boot_into_probe`) and came in through its PVH entry, with the RSDP kboot passed.
    assert_eq!(
        probe_field(probe_line, "bootloader_type"),
        "176",
        "0xb0: Linux's PVH entry outside Xen: {probe_line}"
    );
    let rsdp = hex(&info["rsdp_paddr"]);
    if rsdp != 0 {
        let seen = probe_field(probe_line, "rsdp");
        assert_eq!(
            u64::from_str_radix(seen.trim_start_matches("0x"), 16).unwrap(),
            rsdp,
            "{probe_line}"
        );
    }
    assert!(
        probe_field(probe_line, "tables").contains("DSDT"),
        "ACPI tables: {probe_line}"
    );
}

/// The control: the same kernel and probe loaded without `--type pvh` (the bzImage
/// loader, the Linux boot protocol's 64-bit entry) shows kboot's loader type 0xff,
/// so 0xb0 above is the PVH entry's doing.
#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn without_type_pvh_the_same_kernel_comes_in_through_the_linux_entry() {
    let booted = boot_into_probe(
        "without_type_pvh_the_same_kernel_comes_in_through_the_linux_entry",
        "",
    );
    assert_eq!(booted.plan["loader"], "bzImage", "{:#}", booted.plan);
    assert!(booted.plan.get("pvh_start_info").is_none());
    assert_eq!(
        probe_field(&booted.probe_line, "bootloader_type"),
        "255",
        "{}",
        booted.probe_line
    );
}
