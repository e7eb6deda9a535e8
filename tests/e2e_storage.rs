//! The QEMU tier (`cargo test -- --ignored`) on md RAID and LVM: kboot assembles arrays and activates volume
//! groups itself (no mdadm, no lvm in its initramfs) on disk images that the real
//! mdadm and lvm2 made in a helper VM (`tests/vm-fixtures.sh`; its console log for
//! each set, with `mdadm --examine`, the VG metadata and the DM tables, is in
//! `target/kboot-cache/vm/SET/build.log`). Each scenario boots the Debian cloud kernel
//! with kboot on fresh copies of a set's disks, expects the newest kernel's marker
//! ramdisk to run, and checks that every disk is still byte for byte what the tools
//! left: kboot starts arrays read-only and never writes.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{
    is_booting_line, is_marker_line, kboot_initramfs, kboot_kernel, storage_fixtures, Booting,
    DiskCopy, Marker, MultiDiskBootSpec, Qemu,
};

/// What one boot on an image set showed.
struct StorageBoot {
    booting: Booting,
    marker: Marker,
    /// kboot's own console lines before its booting line.
    kboot_lines: Vec<String>,
}

impl StorageBoot {
    fn warnings(&self) -> Vec<&str> {
        self.kboot_lines
            .iter()
            .map(String::as_str)
            .filter(|line| line.contains("kboot: warning: "))
            .collect()
    }

    /// Fails listing kboot's lines unless one of them satisfies `wanted`.
    fn assert_line(&self, description: &str, wanted: impl Fn(&str) -> bool) {
        assert!(
            self.kboot_lines.iter().any(|line| wanted(line)),
            "no kboot line {description} before the booting line; kboot said:\n{}",
            self.kboot_lines.join("\n")
        );
    }

    fn assert_no_warnings(&self) {
        let warnings = self.warnings();
        assert!(
            warnings.is_empty(),
            "clean arrays and volume groups, yet kboot warned:\n{}",
            warnings.join("\n")
        );
    }
}

/// Boots kboot with `append` on fresh copies of the first `disk_count` disks of image
/// set `set` (vda, vdb, ... in the set's order), expects it to boot a kernel that
/// reaches a marker ramdisk. Also checks: the guest powers off, no panic, every disk
/// unchanged.
fn boot_set_to_marker(test_name: &str, set: &str, disk_count: usize, append: &str) -> StorageBoot {
    let kernel = storage_fixtures().path("KERNEL_IMAGE");
    let initramfs = &kboot_initramfs().cpio_gz;
    boot_set_with(test_name, &kernel, Some(initramfs), set, disk_count, append)
}

/// As `boot_set_to_marker`, with kboot started from `kernel` and `initrd` (no
/// `initrd`: the kboot kernel).
fn boot_set_with(
    test_name: &str,
    kernel: &Path,
    initrd: Option<&Path>,
    set: &str,
    disk_count: usize,
    append: &str,
) -> StorageBoot {
    let fixtures = storage_fixtures();
    let pristine = fixtures.set_disks(set);
    assert!(
        disk_count <= pristine.len(),
        "set {set} has {} disks, not {disk_count}",
        pristine.len()
    );
    let copies: Vec<DiskCopy> = pristine[..disk_count]
        .iter()
        .enumerate()
        .map(|(index, disk)| DiskCopy::new(&format!("{test_name}-disk{}", index + 1), disk))
        .collect();
    let disks: Vec<&Path> = copies.iter().map(DiskCopy::path).collect();
    let mut qemu = Qemu::start_with_disks(&MultiDiskBootSpec {
        name: test_name,
        kernel,
        initrd,
        append,
        disks: &disks,
    });
    // An error means kboot heads for its rescue prompt: fail there, not at the deadline.
    let line = qemu.expect_line("kboot's booting line", |line| {
        is_booting_line(line) || line.contains("kboot: error: ")
    });
    if !is_booting_line(&line) {
        qemu.fail(&format!("kboot failed instead of booting: {line}"));
    }
    let booted_after = qemu.elapsed();
    let kboot_lines: Vec<String> = qemu
        .transcript()
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        .take_while(|line| !is_booting_line(line))
        .filter(|line| line.contains("kboot: "))
        .map(str::to_string)
        .collect();
    let marker_line = qemu.expect_line("the marker line", is_marker_line);
    qemu.expect_exit();
    qemu.check_no_panic();
    for copy in &copies {
        copy.assert_unchanged();
    }
    let booting = Booting::parse(&line).unwrap();
    eprintln!(
        "{test_name}: kboot booted after {:.1} s of /init ({booted_after:.1?} since QEMU start)",
        booting.seconds_since_init
    );
    StorageBoot {
        booting,
        marker: Marker::parse(&marker_line).unwrap(),
        kboot_lines,
    }
}

/// The newest kernel with its own ramdisk ran, with `root_word` passed on and no
/// `kboot.*` word.
fn assert_booted_newest(boot: &StorageBoot, root_word: &str) {
    let version = storage_fixtures().kernel_version();
    assert_eq!(boot.booting.kernel, format!("/boot/vmlinuz-{version}"));
    assert_eq!(boot.booting.ramdisk, format!("/boot/initrd.img-{version}"));
    assert_eq!(boot.marker.ramdisk, "new");
    assert_eq!(boot.marker.kernel_release, version);
    let words = boot.marker.cmdline_words();
    assert!(
        words.contains(&root_word),
        "target cmdline {:?} lacks {root_word:?}",
        boot.marker.cmdline
    );
    assert!(
        !words.iter().any(|word| word.starts_with("kboot.")),
        "target cmdline {:?} still has kboot.* words",
        boot.marker.cmdline
    );
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn raid1_lvm_root_by_mapper_name_boots_newest_kernel() {
    let root = "root=/dev/mapper/sys--vg-root";
    let boot = boot_set_to_marker(
        "storage_r1lvm",
        "r1lvm",
        2,
        &format!("console=ttyS0 {root} kboot.timeout=0"),
    );
    assert_booted_newest(&boot, root);
    boot.assert_no_warnings();
}

/// The kboot kernel (md and device-mapper built in, no modules) on the same disks.
#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kboot_kernel_assembles_raid1_lvm_and_boots_newest_kernel() {
    let root = "root=/dev/mapper/sys--vg-root";
    let boot = boot_set_with(
        "kboot_kernel_r1lvm",
        &kboot_kernel().bz_image,
        None,
        "r1lvm",
        2,
        &format!("console=ttyS0 {root} kboot.timeout=0"),
    );
    assert_booted_newest(&boot, root);
    boot.assert_no_warnings();
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn raid1_lvm_with_a_member_missing_boots_degraded_with_a_warning() {
    let root = "root=/dev/mapper/sys--vg-root";
    let boot = boot_set_to_marker(
        "storage_r1lvm_degraded",
        "r1lvm",
        1,
        &format!("console=ttyS0 {root} kboot.timeout=0"),
    );
    assert_booted_newest(&boot, root);
    boot.assert_line("warning that the array is degraded", |line| {
        line.contains("kboot: warning: ") && line.contains("degraded")
    });
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn raid1_090_and_plain_pv_striped_lv_boots() {
    let root = "root=/dev/data/rootstripe";
    let boot = boot_set_to_marker(
        "storage_r1090",
        "r1090",
        3,
        &format!("console=ttyS0 {root} kboot.timeout=0"),
    );
    assert_booted_newest(&boot, root);
    // The 0.90 members start with md0's PV label: taking them for PVs would show up
    // as duplicate-PV warnings (or, worse, a table on a member).
    boot.assert_no_warnings();
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn raid5_root_by_filesystem_uuid_boots() {
    let fixtures = storage_fixtures();
    let root = format!("root=UUID={}", fixtures.var("R5_ROOT_UUID"));
    let boot = boot_set_to_marker(
        "storage_r5",
        "r5",
        3,
        &format!("console=ttyS0 {root} kboot.timeout=0"),
    );
    assert_booted_newest(&boot, &root);
    boot.assert_no_warnings();
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn raid1_stale_member_is_left_out_and_thin_lv_is_skipped() {
    let fixtures = storage_fixtures();
    let stale_member = fixtures.var("STALE_STALE_MEMBER");
    let root = "root=/dev/vgs/root";
    // rd.lvm.vg asks for the whole VG, thin LVs included: those are skipped by name.
    let boot = boot_set_to_marker(
        "storage_stale",
        "stale",
        3,
        &format!("console=ttyS0 {root} rd.lvm.vg=vgs kboot.timeout=0"),
    );
    assert_booted_newest(&boot, root);
    boot.assert_line(
        &format!("warning naming the stale member {stale_member}"),
        |line| line.contains("kboot: warning: ") && line.contains(stale_member),
    );
    boot.assert_line("naming thinvol and its type thin", |line| {
        line.contains("thinvol") && line.replace("thinvol", "").contains("thin")
    });
}

/// Boots kboot on fresh copies of set `set` expecting a `kboot: error:` line for
/// which `wanted` holds, then the rescue prompt; powers off there. Returns the error
/// line. Also checks: no panic, every disk unchanged.
fn boot_set_to_rescue(
    test_name: &str,
    set: &str,
    append: &str,
    wanted: impl Fn(&str) -> bool,
) -> String {
    let fixtures = storage_fixtures();
    let pristine = fixtures.set_disks(set);
    let copies: Vec<DiskCopy> = pristine
        .iter()
        .enumerate()
        .map(|(index, disk)| DiskCopy::new(&format!("{test_name}-disk{}", index + 1), disk))
        .collect();
    let disks: Vec<&Path> = copies.iter().map(DiskCopy::path).collect();
    let kernel = fixtures.path("KERNEL_IMAGE");
    let mut qemu = Qemu::start_with_disks(&MultiDiskBootSpec {
        name: test_name,
        kernel: &kernel,
        initrd: Some(&kboot_initramfs().cpio_gz),
        append,
        disks: &disks,
    });
    let error = qemu.expect_line("a kboot error", |line| {
        line.contains("kboot: error: ") || is_booting_line(line)
    });
    if !wanted(&error) {
        qemu.fail(&format!("unexpected outcome: {error}"));
    }
    qemu.expect_text("kboot> ");
    qemu.send_line("poweroff");
    qemu.expect_exit();
    qemu.check_no_panic();
    for copy in &copies {
        copy.assert_unchanged();
    }
    error
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn root_on_a_thin_lv_fails_at_once_naming_the_lv_and_its_type() {
    let error = boot_set_to_rescue(
        "storage_thin_root",
        "stale",
        "console=ttyS0 root=/dev/vgs/thinvol",
        |line| {
            line.contains("kboot: error: ")
                && line.contains("vgs/thinvol")
                && line.contains("thin LVs are not supported")
        },
    );
    // Failing at once: the error comes before the default 30 s wait is over.
    assert!(!error.contains("not found after"), "{error}");
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn rd_md_0_leaves_arrays_alone() {
    let root = format!("root=UUID={}", storage_fixtures().var("R5_ROOT_UUID"));
    boot_set_to_rescue(
        "storage_rd_md_0",
        "r5",
        &format!("console=ttyS0 {root} rd.md=0 rootdelay=2"),
        |line| line.contains("kboot: error: ") && line.contains("not found after"),
    );
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn raid0_with_end_metadata_boots_from_a_partition_on_the_array_never_the_member() {
    let fixtures = storage_fixtures();
    let root = format!("root=PARTUUID={}", fixtures.var("R0PART_ROOT_PARTUUID"));
    let boot = boot_set_to_marker(
        "storage_r0part",
        "r0part",
        2,
        &format!("console=ttyS0 {root} kboot.timeout=0"),
    );
    assert_booted_newest(&boot, &root);
    // 1.0 members start with the array's first chunk, so disk 1 shows the array's GPT
    // (vda1) too; only the partition of the assembled array is the root.
    boot.assert_line("root found on the array's partition", |line| {
        line.contains(&format!("root {}", &root["root=".len()..])) && line.contains("/dev/md127p1")
    });
}

/// The journal proof (issue 11): set `dirty` (ext4) and `dirtyxfs` (XFS) are
/// filesystems that the helper VM's kernel changed like a kernel upgrade (a new kernel
/// and ramdisk in /boot, a grub.cfg making it the default) and then lost power: the
/// change lives only in the journal or log (`vm/SET/check.log`: ext4's
/// `needs_recovery` and /boot without the new files as `debugfs` reads it, with them
/// once e2fsck replayed a scratch copy; XFS's dirty log in `xfs_logprint` and /boot
/// without them in `xfs_db`). kboot must replay the journal into RAM, boot the new
/// kernel from the new grub.cfg, warn about nothing and leave the disk byte for byte
/// as it was.
fn assert_dirty_set_boots_the_new_kernel(test_name: &str, set: &str, fstype: &str) {
    let fixtures = storage_fixtures();
    let prefix = set.to_uppercase();
    let root = format!("root=UUID={}", fixtures.var(&format!("{prefix}_ROOT_UUID")));
    let boot = boot_set_to_marker(
        test_name,
        set,
        1,
        &format!("console=ttyS0 {root} kboot.timeout=0"),
    );
    boot.assert_line("saying the journal was replayed in RAM", |line| {
        line.contains(&format!("({fstype}) read-only on "))
            && line.ends_with("its journal replayed in RAM")
    });
    boot.assert_no_warnings();
    assert_eq!(
        boot.booting.kernel,
        fixtures.var(&format!("{prefix}_NEW_KERNEL"))
    );
    assert_eq!(
        boot.booting.ramdisk,
        fixtures.var(&format!("{prefix}_NEW_RAMDISK"))
    );
    assert_eq!(boot.marker.ramdisk, "journal");
    let words = boot.marker.cmdline_words();
    assert!(
        words.contains(&"kboot_proof=journal") && words.contains(&root.as_str()),
        "target cmdline {:?} is not the new grub.cfg entry's",
        boot.marker.cmdline
    );
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn dirty_ext4_journal_is_replayed_in_ram_and_the_new_kernel_boots() {
    assert_dirty_set_boots_the_new_kernel("storage_dirty_ext4", "dirty", "ext4");
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn dirty_xfs_log_is_replayed_in_ram_and_the_new_kernel_boots() {
    assert_dirty_set_boots_the_new_kernel("storage_dirty_xfs", "dirtyxfs", "xfs");
}
