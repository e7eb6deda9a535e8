//! The purgatory's 32-bit exit, proven in QEMU (TCG) through Linux's own 32-bit boot
//! protocol: `kboot kexec -c --entry-32bit` (kexec-tools' option) enters a bzImage at
//! `startup_32`, its protected-mode load address, in 32-bit protected mode with paging
//! off and `esi` = the zero page.
//!
//! - the fixture kernel: the 64-bit entry is 0x200 further on; jumping to
//!   `startup_32` in long mode faults at once (its first `popl` does not exist in
//!   64-bit mode), so the marker kernel coming up shows the purgatory left long mode;
//! - a probe (`tests/data/entry32-probe.S`, assembled here with `as --32`, in a
//!   minimal bzImage header) prints the registers, control registers, EFER, selectors
//!   and GDT descriptors it was entered with, checked against the protocol.
//!
//! The guest is the fixture kernel with a busybox initramfs (as
//! `bench/compare-kexec-tools` builds one) around this build's kboot: its /init prints
//! kboot's dry-run plan, loads with kexec_load and runs `kboot kexec -e`. Needs
//! busybox-static, cpio and binutils (tests/setup-debian.sh installs them).

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::busybox::{busybox_initramfs, plan_from, run_shell, work_dir};
use common::{fixtures, is_marker_line, repo_dir, DrivesBootSpec, Marker, Qemu};

/// The marker kernel's command line; `kboot-e2e=entry32` shows it is the one kboot
/// loaded.
const MARKER_APPEND: &str = "console=ttyS0 panic=-1 kboot-e2e=entry32";

/// /init: `@LOAD@` is `kboot kexec`'s arguments after `-c -l`.
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo "=== PLAN BEGIN"
/bin/kboot kexec -c -l @LOAD@ --entry-32bit --dry-run
echo "=== PLAN END rc=$?"
/bin/kboot kexec -c -l @LOAD@ --entry-32bit
echo "=== LOADED rc=$?"
/bin/kboot kexec -e
echo "=== EXEC FAILED rc=$?"
/bin/busybox poweroff -f
"#;

/// Builds the guest's initramfs (uncompressed newc) in `work` with `files` (name under
/// /k, source) and `kboot kexec -c -l LOAD --entry-32bit`; returns its path.
fn build_initramfs(work: &Path, files: &[(&str, &Path)], load: &str) -> PathBuf {
    let kboot = PathBuf::from(env!("CARGO_BIN_EXE_kboot"));
    let in_k: Vec<(String, &Path)> = files
        .iter()
        .map(|(name, source)| (format!("k/{name}"), *source))
        .collect();
    let mut all: Vec<(&str, &Path)> = vec![("bin/kboot", &kboot)];
    all.extend(in_k.iter().map(|(path, source)| (path.as_str(), *source)));
    busybox_initramfs(work, "tree", &INIT.replace("@LOAD@", load), &all)
}

/// Starts the fixture kernel with `initramfs` as its initramfs.
fn start(name: &str, initramfs: &Path) -> Qemu {
    Qemu::start_with_drives(&DrivesBootSpec {
        name,
        kernel: &fixtures().path("KERNEL_IMAGE"),
        initrd: Some(initramfs),
        append: "console=ttyS0 panic=-1 rdinit=/init quiet",
        drives: &[],
        extra_args: &[],
    })
}

/// The `mem` of the plan's segment with `role`.
fn segment_mem<'a>(plan: &'a serde_json::Value, role: &str) -> &'a serde_json::Value {
    let segments = plan["segments"].as_array().unwrap();
    &segments.iter().find(|s| s["role"] == role).unwrap()["mem"]
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kexec_entry_32bit_boots_a_bzimage_through_startup_32() {
    let f = fixtures();
    let kernel = f.path("KERNEL_IMAGE");
    let work = work_dir("kexec32-linux");
    let initramfs = build_initramfs(
        &work,
        &[("vmlinuz", &kernel), ("marker", &f.path("MARKER_NEW"))],
        &format!("/k/vmlinuz --initrd /k/marker --append \"{MARKER_APPEND}\""),
    );
    let mut qemu = start(
        "kexec_entry_32bit_boots_a_bzimage_through_startup_32",
        &initramfs,
    );
    qemu.expect_text("=== LOADED rc=0");
    let plan = plan_from(&qemu.transcript());
    let marker_line = qemu.expect_line("the marker line", is_marker_line);
    qemu.expect_exit();
    qemu.check_no_panic();

    let regs = &plan["regs"];
    assert_eq!(regs["mode"], "protected32", "{plan:#}");
    assert_eq!(
        &regs["eip"],
        segment_mem(&plan, "kernel"),
        "eip = startup_32, the load address"
    );
    assert_eq!(
        &regs["esi"],
        segment_mem(&plan, "boot-params"),
        "esi = the zero page"
    );
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

/// A bzImage (protocol 2.15, 64-bit and relocatable as kboot's loader wants, 16 MiB
/// preferred address) whose protected-mode part is `code`.
fn bzimage_around(code: &[u8]) -> Vec<u8> {
    const SETUP_SECTS: usize = 3;
    let put32 = |k: &mut Vec<u8>, at: usize, value: u32| {
        k[at..at + 4].copy_from_slice(&value.to_le_bytes());
    };
    let payload_bytes = code.len().next_multiple_of(16);
    let mut k = vec![0u8; (SETUP_SECTS + 1) * 512 + payload_bytes];
    k[0x1f1] = SETUP_SECTS as u8;
    put32(&mut k, 0x1f4, (payload_bytes / 16) as u32); // syssize
    k[0x1fe..0x200].copy_from_slice(&0xaa55u16.to_le_bytes());
    k[0x200..0x202].copy_from_slice(&[0xeb, 0x6a]);
    k[0x202..0x206].copy_from_slice(b"HdrS");
    k[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
    k[0x211] = 0x01; // loadflags: LOADED_HIGH
    put32(&mut k, 0x214, 0x10_0000); // code32_start
    put32(&mut k, 0x22c, 0x7fff_ffff); // initrd_addr_max
    put32(&mut k, 0x230, 0x20_0000); // kernel_alignment
    k[0x234] = 1; // relocatable_kernel
    k[0x236..0x238].copy_from_slice(&0x0003u16.to_le_bytes()); // XLF_KERNEL_64 | above 4G
    put32(&mut k, 0x238, 0x7ff); // cmdline_size
    k[0x258..0x260].copy_from_slice(&0x100_0000u64.to_le_bytes()); // pref_address
    put32(&mut k, 0x260, 0x10_0000); // init_size
    k[(SETUP_SECTS + 1) * 512..][..code.len()].copy_from_slice(code);
    k
}

/// `name=value` (hex) from the probe's line.
fn probe_field(line: &str, name: &str) -> u32 {
    let value = line
        .split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {line}"));
    u32::from_str_radix(value, 16).unwrap()
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kexec_entry_32bit_hands_over_flat_protected_mode_with_paging_off() {
    let work = work_dir("kexec32-probe");
    let source = repo_dir().join("tests/data/entry32-probe.S");
    let (object, code) = (work.join("probe.o"), work.join("probe.bin"));
    run_shell(&format!(
        "as --32 -o '{}' '{}' && objcopy -O binary '{}' '{}'",
        object.display(),
        source.display(),
        object.display(),
        code.display()
    ));
    let kernel = work.join("probe.bzImage");
    fs::write(&kernel, bzimage_around(&fs::read(&code).unwrap())).unwrap();
    let initramfs = build_initramfs(&work, &[("probe", &kernel)], "/k/probe --append probe");
    let mut qemu = start(
        "kexec_entry_32bit_hands_over_flat_protected_mode_with_paging_off",
        &initramfs,
    );
    qemu.expect_text("=== LOADED rc=0");
    let plan = plan_from(&qemu.transcript());
    let line = qemu.expect_line("the probe's line", |line| line.contains("KBOOT-PROBE32 "));
    let line = line.trim().to_string();
    let field = |name: &str| probe_field(&line, name);
    let hex = |value: u32| serde_json::Value::from(format!("{value:#x}"));

    assert_eq!(plan["regs"]["mode"], "protected32", "{plan:#}");
    assert_eq!(
        &hex(field("esi")),
        segment_mem(&plan, "boot-params"),
        "{line}"
    );
    for register in ["eax", "ebx", "ecx", "edx", "edi", "ebp"] {
        assert_eq!(field(register), 0, "{register}: {line}");
    }
    let cr0 = field("cr0");
    assert_eq!(cr0 & 1, 1, "CR0.PE: {line}");
    assert_eq!(cr0 >> 31, 0, "CR0.PG: {line}");
    assert_eq!(field("cr4"), 0, "{line}");
    assert_eq!(
        field("efer") & (1 << 8 | 1 << 10),
        0,
        "EFER.LME, LMA: {line}"
    );
    assert_eq!(field("eflags") & (1 << 9), 0, "EFLAGS.IF: {line}");
    assert_eq!(field("cs"), 0x10, "{line}");
    for selector in ["ds", "es", "ss", "fs", "gs"] {
        assert_eq!(field(selector), 0x18, "{selector}: {line}");
    }
    // The CPU sets a descriptor's accessed bit (type bit 0) when it loads it.
    let accessed = 1 << 8;
    assert_eq!(
        (field("gdt10hi") & !accessed, field("gdt10lo")),
        (0x00cf_9a00, 0x0000_ffff),
        "0x10: flat 32-bit code: {line}"
    );
    assert_eq!(
        (field("gdt18hi") & !accessed, field("gdt18lo")),
        (0x00cf_9200, 0x0000_ffff),
        "0x18: flat data: {line}"
    );
}
