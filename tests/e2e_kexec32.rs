//! The purgatory's 32-bit exit, proven in QEMU (TCG) through Linux's own 32-bit boot
//! protocol: `kboot kexec -c --entry-32bit` (kexec-tools' option) enters the fixture
//! bzImage at `startup_32`, its protected-mode load address, in 32-bit protected mode
//! with paging off and `esi` = the zero page. The 64-bit entry is 0x200 further on:
//! jumping to `startup_32` in long mode would fault at once (its first `popl` does
//! not exist in 64-bit mode), so the marker kernel coming up shows the purgatory left
//! long mode as it should.
//!
//! The guest is the fixture kernel with a busybox initramfs (as
//! `bench/compare-kexec-tools` builds one) around this build's kboot: its /init prints
//! kboot's dry-run plan, loads with kexec_load and `kboot kexec -e`. Needs
//! busybox-static and cpio (tests/setup-debian.sh installs both).

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{cache_dir, fixtures, is_marker_line, DrivesBootSpec, Marker, Qemu};

/// The marker kernel's command line; `kboot-e2e=entry32` shows it is the one kboot
/// loaded.
const MARKER_APPEND: &str = "console=ttyS0 panic=-1 kboot-e2e=entry32";

const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo "=== PLAN BEGIN"
/bin/kboot kexec -c -l /k/vmlinuz --initrd /k/marker --append "@APPEND@" --entry-32bit --dry-run
echo "=== PLAN END rc=$?"
/bin/kboot kexec -c -l /k/vmlinuz --initrd /k/marker --append "@APPEND@" --entry-32bit
echo "=== LOADED rc=$?"
/bin/kboot kexec -e
echo "=== EXEC FAILED rc=$?"
/bin/busybox poweroff -f
"#;

/// Builds the guest's initramfs (uncompressed newc) under the cache and returns it.
fn build_initramfs(kernel: &Path, marker: &Path) -> PathBuf {
    let work = cache_dir().join("work").join("kexec32");
    let tree = work.join("tree");
    let _ = fs::remove_dir_all(&tree);
    for dir in ["bin", "proc", "sys", "dev", "k"] {
        fs::create_dir_all(tree.join(dir)).unwrap();
    }
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "/bin/busybox is missing: apt-get install busybox-static (tests/setup-debian.sh)"
    );
    fs::copy(busybox, tree.join("bin/busybox")).unwrap();
    symlink("busybox", tree.join("bin/sh")).unwrap();
    fs::copy(env!("CARGO_BIN_EXE_kboot"), tree.join("bin/kboot")).unwrap();
    fs::copy(kernel, tree.join("k/vmlinuz")).unwrap();
    fs::copy(marker, tree.join("k/marker")).unwrap();
    let init = tree.join("init");
    fs::write(&init, INIT.replace("@APPEND@", MARKER_APPEND)).unwrap();
    fs::set_permissions(&init, fs::Permissions::from_mode(0o755)).unwrap();
    let archive = work.join("kexec32.cpio");
    let script = format!(
        "cd '{}' && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 > '{}'",
        tree.display(),
        archive.display()
    );
    let status = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{script} failed ({status})");
    archive
}

/// The JSON between `=== PLAN BEGIN` and `=== PLAN END` in the transcript.
fn plan_from(transcript: &str) -> serde_json::Value {
    let begin = transcript.find("=== PLAN BEGIN").expect("no plan");
    let end = transcript[begin..]
        .find("=== PLAN END")
        .expect("no plan end")
        + begin;
    let text = &transcript[begin..end];
    let json = &text[text.find('{').expect("no JSON")..=text.rfind('}').expect("no JSON")];
    serde_json::from_str(&json.replace('\r', "")).unwrap()
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kexec_entry_32bit_boots_a_bzimage_through_startup_32() {
    let f = fixtures();
    let kernel = f.path("KERNEL_IMAGE");
    let initramfs = build_initramfs(&kernel, &f.path("MARKER_NEW"));
    let mut qemu = Qemu::start_with_drives(&DrivesBootSpec {
        name: "kexec_entry_32bit_boots_a_bzimage_through_startup_32",
        kernel: &kernel,
        initrd: Some(&initramfs),
        append: "console=ttyS0 panic=-1 rdinit=/init quiet",
        drives: &[],
        extra_args: &[],
    });
    qemu.expect_text("=== LOADED rc=0");
    let plan = plan_from(&qemu.transcript());
    let marker_line = qemu.expect_line("the marker line", is_marker_line);
    qemu.expect_exit();
    qemu.check_no_panic();

    let kernel_segment = plan["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "kernel")
        .unwrap();
    let params = plan["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "boot-params")
        .unwrap();
    let regs = &plan["regs"];
    assert_eq!(regs["mode"], "protected32", "{plan:#}");
    assert_eq!(
        regs["eip"], kernel_segment["mem"],
        "eip = startup_32, the load address"
    );
    assert_eq!(regs["esi"], params["mem"], "esi = the zero page");
    assert_eq!((&regs["eax"], &regs["ebx"]), (&"0x0".into(), &"0x0".into()));
    let marker = Marker::parse(&marker_line).unwrap();
    assert_eq!(marker.ramdisk, "new");
    assert_eq!(marker.kernel_release, f.kernel_version());
    assert!(
        marker.cmdline_words().contains(&"kboot-e2e=entry32"),
        "{}",
        marker.cmdline
    );
}
