//! The QEMU tier (`cargo test -- --ignored`; plain `cargo test` skips it): boots the Debian cloud kernel under TCG with kboot as its initramfs
//! and checks, on the serial console, that kboot finds the disk, picks the right
//! kernel and boots it with the right command line, or lands at its rescue prompt.
//! The booted "system" is a marker ramdisk that prints one `KBOOT-MARKER` line and
//! powers off. Fixtures come from `tests/fixtures.sh` (see there); transcripts go to
//! `target/kboot-cache/logs/<test>.log`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{
    fixtures, is_booting_line, is_marker_line, kboot_initramfs, kboot_kernel, BootSpec, Booting,
    DiskCopy, Marker, Qemu,
};

/// Boots kboot with `append` on a fresh copy of `pristine_disk`, expects it to kexec
/// a kernel that reaches a marker ramdisk, and returns what kboot said and what the
/// marker saw. Also checks: the guest powers off, no panic, the disk is unchanged.
fn boot_to_marker(
    test_name: &str,
    initramfs: &Path,
    pristine_disk: &Path,
    append: &str,
) -> (Booting, Marker) {
    boot_to_marker_answering(test_name, initramfs, pristine_disk, append, &[])
}

/// As `boot_to_marker`, typing each answer's keys once its prompt text has appeared.
fn boot_to_marker_answering(
    test_name: &str,
    initramfs: &Path,
    pristine_disk: &Path,
    append: &str,
    answers: &[(&str, &str)],
) -> (Booting, Marker) {
    let kernel = fixtures().path("KERNEL_IMAGE");
    boot_kernel_to_marker(
        test_name,
        &kernel,
        Some(initramfs),
        pristine_disk,
        append,
        answers,
    )
}

/// As `boot_to_marker_answering`, with kboot started from `kernel` and `initrd` (no
/// `initrd`: the kboot kernel, which carries kboot inside).
fn boot_kernel_to_marker(
    test_name: &str,
    kernel: &Path,
    initrd: Option<&Path>,
    pristine_disk: &Path,
    append: &str,
    answers: &[(&str, &str)],
) -> (Booting, Marker) {
    let disk = DiskCopy::new(test_name, pristine_disk);
    let mut qemu = Qemu::start(&BootSpec {
        name: test_name,
        kernel,
        initrd,
        append,
        disk: disk.path(),
    });
    for (prompt, keys) in answers {
        qemu.expect_text(prompt);
        qemu.send_keys(keys);
    }
    let booting_line = qemu.expect_line("kboot's booting line", is_booting_line);
    let booted_after = qemu.elapsed();
    let marker_line = qemu.expect_line("the marker line", is_marker_line);
    let marker_after = qemu.elapsed();
    qemu.expect_exit();
    qemu.check_no_panic();
    disk.assert_unchanged();
    let booting = Booting::parse(&booting_line).unwrap();
    let marker = Marker::parse(&marker_line).unwrap();
    eprintln!(
        "{test_name}: kboot booted after {:.1} s of /init ({booted_after:.1?} since QEMU \
         start); marker after {marker_after:.1?}",
        booting.seconds_since_init
    );
    (booting, marker)
}

/// Boots kboot on a fresh copy of `pristine_disk` expecting it to fail with a
/// `kboot: error:` line naming `error_mentions` and to offer the rescue prompt. Runs
/// `commands` at the prompt (returning each one's output) and then `poweroff`.
fn boot_to_rescue(
    test_name: &str,
    pristine_disk: &Path,
    append: &str,
    error_mentions: &str,
    commands: &[&str],
) -> Vec<String> {
    boot_to_rescue_via(
        test_name,
        pristine_disk,
        append,
        error_mentions,
        false,
        commands,
    )
}

/// The key help at the foot of kboot's menu: the menu is on screen.
const MENU_HELP: &str = "s: rescue prompt";

/// As `boot_to_rescue`; with `via_menu`, the failed entry comes back in the menu first
/// (marked), and `s` there opens the rescue prompt.
fn boot_to_rescue_via(
    test_name: &str,
    pristine_disk: &Path,
    append: &str,
    error_mentions: &str,
    via_menu: bool,
    commands: &[&str],
) -> Vec<String> {
    const PROMPT: &str = "kboot> ";
    let fixtures = fixtures();
    let initramfs = &kboot_initramfs().cpio_gz;
    let disk = DiskCopy::new(test_name, pristine_disk);
    let kernel = fixtures.path("KERNEL_IMAGE");
    let mut qemu = Qemu::start(&BootSpec {
        name: test_name,
        kernel: &kernel,
        initrd: Some(initramfs),
        append,
        disk: disk.path(),
    });
    let error = qemu.expect_line(&format!("a kboot error naming {error_mentions}"), |line| {
        line.contains("kboot: error: ") && line.contains(error_mentions)
    });
    if via_menu {
        let screen = qemu.expect_text(MENU_HELP);
        qemu.check(
            screen.contains("failed: "),
            "the menu does not mark the failed entry",
        );
        qemu.send_keys("s");
    }
    let banner = qemu.expect_text(PROMPT);
    qemu.check(
        banner.contains("rescue"),
        "no rescue banner between the error and the prompt",
    );
    eprintln!(
        "{test_name}: error {error:?}, prompt after {:.1?}",
        qemu.elapsed()
    );
    let mut outputs = Vec::new();
    for command in commands {
        qemu.send_line(command);
        outputs.push(qemu.expect_text(PROMPT));
    }
    qemu.send_line("poweroff");
    qemu.expect_exit();
    qemu.check_no_panic();
    disk.assert_unchanged();
    outputs
}

fn assert_words(marker: &Marker, present: &[&str], absent_prefixes: &[&str]) {
    let words = marker.cmdline_words();
    for word in present {
        assert!(
            words.contains(word),
            "target cmdline {:?} lacks {word:?}",
            marker.cmdline
        );
    }
    for prefix in absent_prefixes {
        assert!(
            !words.iter().any(|word| word.starts_with(prefix)),
            "target cmdline {:?} still has {prefix:?}",
            marker.cmdline
        );
    }
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn debian_kernel_boots_marker_ramdisk_directly() {
    let fixtures = fixtures();
    let disk = DiskCopy::new("direct_marker", &fixtures.path("ONEFS_IMAGE"));
    let kernel = fixtures.path("KERNEL_IMAGE");
    let marker_new = fixtures.path("MARKER_NEW");
    let append = "console=ttyS0 kbootdirect=1 root=LABEL=kroot";
    let mut qemu = Qemu::start(&BootSpec {
        name: "direct_marker",
        kernel: &kernel,
        initrd: Some(&marker_new),
        append,
        disk: disk.path(),
    });
    let line = qemu.expect_line("the marker line", is_marker_line);
    let marker_after = qemu.elapsed();
    qemu.expect_exit();
    qemu.check_no_panic();
    disk.assert_unchanged();
    eprintln!(
        "direct boot: marker after {marker_after:.2?}, QEMU gone after {:.2?}",
        qemu.elapsed()
    );
    let marker = Marker::parse(&line).unwrap();
    assert_eq!(marker.ramdisk, "new");
    assert_eq!(marker.kernel_release, fixtures.kernel_version());
    assert_words(
        &marker,
        &["console=ttyS0", "kbootdirect=1", "root=LABEL=kroot"],
        &[],
    );
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kboot_boots_newest_kernel_from_root_uuid() {
    let fixtures = fixtures();
    let version = fixtures.kernel_version();
    let root = format!("root=UUID={}", fixtures.var("ONEFS_ROOT_UUID"));
    let (booting, marker) = boot_to_marker(
        "kboot_root_uuid",
        &kboot_initramfs().cpio_gz,
        &fixtures.path("ONEFS_IMAGE"),
        &format!("console=ttyS0 {root}"),
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{version}"));
    assert_eq!(booting.ramdisk, format!("/boot/initrd.img-{version}"));
    assert_eq!(marker.ramdisk, "new");
    assert_eq!(marker.kernel_release, version);
    assert_eq!(booting.cmdline.trim(), marker.cmdline.trim());
    assert_words(&marker, &[&root, "console=ttyS0"], &["kboot."]);
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kexec_load_boots_newest_kernel_through_kboots_own_image_builder() {
    let fixtures = fixtures();
    let version = fixtures.kernel_version();
    let root = format!("root=UUID={}", fixtures.var("ONEFS_ROOT_UUID"));
    let (booting, marker) = boot_to_marker(
        "kexec_load_bzimage",
        &kboot_initramfs().cpio_gz,
        &fixtures.path("ONEFS_IMAGE"),
        &format!("console=ttyS0 {root} kboot.kexec=load kboot.timeout=0"),
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{version}"));
    assert_eq!(marker.ramdisk, "new");
    assert_eq!(marker.kernel_release, version);
    assert_eq!(booting.cmdline.trim(), marker.cmdline.trim());
    assert_words(&marker, &[&root, "console=ttyS0"], &["kboot."]);
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kexec_load_boots_a_gzip_compressed_elf_vmlinux() {
    let fixtures = fixtures();
    let version = fixtures.kernel_version();
    let root = format!("root=UUID={}", fixtures.var("ELF_ROOT_UUID"));
    let (booting, marker) = boot_to_marker(
        "kexec_load_elf",
        &kboot_initramfs().cpio_gz,
        &fixtures.path("ELF_IMAGE"),
        &format!(
            "console=ttyS0 {root} kernel=/boot/vmlinux-{version}.gz \
             ramdisk=/boot/initrd.img-{version} kboot.kexec=load kboot.timeout=0"
        ),
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinux-{version}.gz"));
    assert_eq!(marker.ramdisk, "new");
    assert_eq!(marker.kernel_release, version);
    assert_eq!(booting.cmdline.trim(), marker.cmdline.trim());
    assert_words(
        &marker,
        &[&root, "console=ttyS0"],
        &["kboot.", "kernel=", "ramdisk="],
    );
}

/// `kboot.kexec=auto` (the default) loads an ELF vmlinux with kboot's own builder
/// straight away (the running kernel's `kexec_file_load` takes only bzImages).
#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kexec_auto_loads_an_elf_vmlinux_with_kboots_own_builder() {
    let fixtures = fixtures();
    let version = fixtures.kernel_version();
    let root = format!("root=UUID={}", fixtures.var("ELF_ROOT_UUID"));
    let (_, marker) = boot_to_marker(
        "kexec_auto_elf",
        &kboot_initramfs().cpio_gz,
        &fixtures.path("ELF_IMAGE"),
        &format!(
            "console=ttyS0 {root} kernel=/boot/vmlinux-{version}.gz \
             ramdisk=/boot/initrd.img-{version} kboot.timeout=0"
        ),
    );
    assert_eq!(marker.ramdisk, "new");
    let log = std::fs::read_to_string(common::cache_dir().join("logs/kexec_auto_elf.log")).unwrap();
    assert!(log.contains("kernel loaded with kexec_load; rebooting into it"));
    assert!(!log.contains("kboot: warning"), "{log}");
}

/// Under lockdown the kernel refuses `kexec_load` (EPERM); `auto` then asks
/// `kexec_file_load`, which takes only kernels signed with a key in the kernel's own
/// keyring. Debian's kernel is signed for Secure Boot (a key the firmware holds, absent
/// under SeaBIOS), so that is refused too: kboot names both refusals in one error and
/// comes back to the menu, the entry marked.
#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn under_lockdown_auto_tries_kexec_file_load_and_names_both_refusals() {
    let fixtures = fixtures();
    boot_to_rescue_via(
        "kexec_auto_lockdown",
        &fixtures.path("ONEFS_IMAGE"),
        &format!(
            "console=ttyS0 root=UUID={} lockdown=integrity kboot.timeout=0",
            fixtures.var("ONEFS_ROOT_UUID")
        ),
        "then kexec_file_load(",
        true,
        &[],
    );
    let log =
        std::fs::read_to_string(common::cache_dir().join("logs/kexec_auto_lockdown.log")).unwrap();
    let error = log.lines().find(|l| l.contains("kboot: error: ")).unwrap();
    assert!(
        error.contains("kexec_load(") && error.matches("Operation not permitted").count() == 2,
        "{error}"
    );
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn a_kernel_for_another_architecture_is_refused_by_both_ways_to_the_rescue_prompt() {
    let fixtures = fixtures();
    let version = fixtures.kernel_version();
    boot_to_rescue_via(
        "kexec_foreign_arch",
        &fixtures.path("ELF_IMAGE"),
        &format!(
            "console=ttyS0 root=UUID={} kernel=/boot/vmlinux-arm64 \
             ramdisk=/boot/initrd.img-{version}",
            fixtures.var("ELF_ROOT_UUID")
        ),
        "ELF for machine 183, not x86_64",
        true,
        &[],
    );
    let log =
        std::fs::read_to_string(common::cache_dir().join("logs/kexec_foreign_arch.log")).unwrap();
    let error = log.lines().find(|l| l.contains("kboot: error: ")).unwrap();
    assert!(
        error.contains("kexec_file_load(") && error.contains("vmlinux-arm64"),
        "{error}"
    );
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kboot_boots_from_separate_boot_partition_by_partuuid() {
    let fixtures = fixtures();
    let version = fixtures.kernel_version();
    let boot = format!("boot=PARTUUID={}", fixtures.var("SPLIT_BOOT_PARTUUID"));
    let (booting, marker) = boot_to_marker(
        "kboot_split_boot",
        &kboot_initramfs().cpio_gz,
        &fixtures.path("SPLIT_IMAGE"),
        &format!("console=ttyS0 root=LABEL=sysroot {boot} kboot.timeout=0"),
    );
    assert_eq!(booting.kernel, format!("/vmlinuz-{version}"));
    assert_eq!(booting.ramdisk, format!("/initrd.img-{version}"));
    assert_eq!(marker.ramdisk, "new");
    assert_words(
        &marker,
        &["root=LABEL=sysroot", "console=ttyS0"],
        &["boot=", "kboot."],
    );
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kboot_boots_kernel_and_ramdisk_named_on_cmdline_with_append() {
    let fixtures = fixtures();
    let old = fixtures.var("OLD_KERNEL_VERSION");
    let root = format!("root=UUID={}", fixtures.var("ONEFS_ROOT_UUID"));
    let (booting, marker) = boot_to_marker(
        "kboot_explicit_kernel",
        &kboot_initramfs().cpio_gz,
        &fixtures.path("ONEFS_IMAGE"),
        &format!(
            "console=ttyS0 {root} kernel=/boot/vmlinuz-{old} ramdisk=/boot/initrd.img-{old} \
             kboot.append=\"quiet kbootmark=1\""
        ),
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{old}"));
    assert_eq!(booting.ramdisk, format!("/boot/initrd.img-{old}"));
    assert_eq!(marker.ramdisk, "old");
    assert!(
        marker.cmdline.contains("quiet kbootmark=1"),
        "target cmdline {:?} lacks the kboot.append text",
        marker.cmdline
    );
    assert_words(
        &marker,
        &[&root, "console=ttyS0"],
        &["kernel=", "ramdisk=", "kboot."],
    );
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kboot_unknown_root_label_reaches_rescue_prompt() {
    let fixtures = fixtures();
    let outputs = boot_to_rescue(
        "kboot_unknown_root",
        &fixtures.path("ONEFS_IMAGE"),
        "console=ttyS0 root=LABEL=nosuchlabel rootdelay=3",
        "nosuchlabel",
        &["devices"],
    );
    let devices = &outputs[0];
    assert!(
        devices.contains("ext4") && devices.contains(fixtures.var("ONEFS_ROOT_LABEL")),
        "`devices` does not list the ext4 filesystem labelled {}:\n{devices}",
        fixtures.var("ONEFS_ROOT_LABEL")
    );
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kboot_truncated_kernel_reaches_rescue_prompt() {
    let fixtures = fixtures();
    let version = fixtures.kernel_version();
    boot_to_rescue_via(
        "kboot_truncated_kernel",
        &fixtures.path("ONEFS_IMAGE"),
        &format!(
            "console=ttyS0 root=UUID={} kernel=/boot/truncated-vmlinuz \
             ramdisk=/boot/initrd.img-{version}",
            fixtures.var("ONEFS_ROOT_UUID")
        ),
        "truncated-vmlinuz",
        true,
        &[],
    );
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kboot_from_gen_init_cpio_archive_boots_newest_kernel() {
    let fixtures = fixtures();
    let version = fixtures.kernel_version();
    let root = format!("root=UUID={}", fixtures.var("ONEFS_ROOT_UUID"));
    let (booting, marker) = boot_to_marker(
        "kboot_gen_init_cpio",
        &kboot_initramfs().gen_init_cpio,
        &fixtures.path("ONEFS_IMAGE"),
        &format!("console=ttyS0 {root} kboot.timeout=0"),
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{version}"));
    assert_eq!(marker.ramdisk, "new");
    assert_words(&marker, &[&root, "console=ttyS0"], &["kboot."]);
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kboot_boots_the_kernel_chosen_from_the_list() {
    let fixtures = fixtures();
    let old = fixtures.var("OLD_KERNEL_VERSION");
    let (booting, marker) = boot_to_marker_answering(
        "kboot_list_choice",
        &kboot_initramfs().cpio_gz,
        &fixtures.path("ONEFS_IMAGE"),
        &format!(
            "console=ttyS0 root=LABEL={} kboot.timeout=60",
            fixtures.var("ONEFS_ROOT_LABEL")
        ),
        &[(MENU_HELP, "2")],
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{old}"));
    assert_eq!(marker.ramdisk, "old");
    assert_words(&marker, &["console=ttyS0"], &["kboot."]);
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kboot_without_root_finds_the_filesystem_with_kernels_and_passes_it_on() {
    let fixtures = fixtures();
    let version = fixtures.kernel_version();
    let (booting, marker) = boot_to_marker(
        "kboot_no_root",
        &kboot_initramfs().cpio_gz,
        &fixtures.path("ONEFS_IMAGE"),
        "console=ttyS0 kboot.timeout=0",
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{version}"));
    assert_eq!(marker.ramdisk, "new");
    let root = format!("root=UUID={}", fixtures.var("ONEFS_ROOT_UUID"));
    assert_words(&marker, &[&root, "console=ttyS0"], &["kboot."]);
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn menu_arrow_down_and_enter_boot_the_second_entry() {
    let fixtures = fixtures();
    let old = fixtures.var("OLD_KERNEL_VERSION");
    let (booting, marker) = boot_to_marker_answering(
        "kboot_menu_arrows",
        &kboot_initramfs().cpio_gz,
        &fixtures.path("ONEFS_IMAGE"),
        &format!(
            "console=ttyS0 root=LABEL={} kboot.timeout=60",
            fixtures.var("ONEFS_ROOT_LABEL")
        ),
        &[(MENU_HELP, "\x1b[B\r")],
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{old}"));
    assert_eq!(marker.ramdisk, "old");
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn menu_edit_adds_a_word_that_arrives_at_the_target() {
    let fixtures = fixtures();
    let version = fixtures.kernel_version();
    let (booting, marker) = boot_to_marker_answering(
        "kboot_menu_edit",
        &kboot_initramfs().cpio_gz,
        &fixtures.path("ONEFS_IMAGE"),
        &format!(
            "console=ttyS0 root=LABEL={} kboot.timeout=60",
            fixtures.var("ONEFS_ROOT_LABEL")
        ),
        // e: edit the default entry; End; type; Ctrl-X boots the edited line.
        &[(MENU_HELP, "e"), ("Ctrl-X", "\x1b[F kbootedited=yes\x18")],
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{version}"));
    assert_eq!(marker.ramdisk, "new");
    assert_words(&marker, &["kbootedited=yes", "console=ttyS0"], &["kboot."]);
}

/// Boots the disk whose root holds BLS entries and a grub.cfg next to the kernels.
fn boot_configs(test_name: &str, extra: &str, answers: &[(&str, &str)]) -> (Booting, Marker) {
    let fixtures = fixtures();
    boot_to_marker_answering(
        test_name,
        &kboot_initramfs().cpio_gz,
        &fixtures.path("CONFIGS_IMAGE"),
        // BLS and grub entries bring their own command lines: the console comes from
        // kboot.append, which kboot adds to every entry.
        &format!(
            "console=ttyS0 root=LABEL={} kboot.append=console=ttyS0 {extra}",
            fixtures.var("CONFIGS_ROOT_LABEL")
        ),
        answers,
    )
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn bls_entry_options_arrive_at_the_target() {
    let version = fixtures().kernel_version();
    let (booting, marker) =
        boot_configs("kboot_bls_options", "kboot.default=1 kboot.timeout=0", &[]);
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{version}"));
    assert_eq!(marker.ramdisk, "new");
    assert_words(
        &marker,
        &["kblsopt=new", "console=ttyS0"],
        &["kboot.", "kgrubopt"],
    );
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn grub_entry_inside_a_submenu_boots_with_its_own_arguments() {
    let old = fixtures().var("OLD_KERNEL_VERSION");
    let (booting, marker) = boot_configs(
        "kboot_grub_submenu",
        "kboot.timeout=60",
        &[("grub sub old", ""), (MENU_HELP, "5")],
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{old}"));
    assert_eq!(marker.ramdisk, "old");
    assert_words(
        &marker,
        &["kgrubopt=sub", "console=ttyS0"],
        &["kboot.", "kblsopt"],
    );
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn entry_with_a_missing_kernel_fails_back_to_the_menu_marked() {
    let version = fixtures().kernel_version();
    // 3 is the BLS entry whose kernel file is not there: kboot says why and shows the
    // menu again with the entry marked; 1 then boots.
    let (booting, marker) = boot_configs(
        "kboot_missing_kernel",
        "kboot.timeout=60",
        &[
            (MENU_HELP, "3"),
            ("vmlinuz-0.1-missing", ""),
            ("failed: ", ""),
            (MENU_HELP, "1"),
        ],
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{version}"));
    assert_eq!(marker.ramdisk, "new");
    assert_words(&marker, &["kblsopt=new"], &["kboot."]);
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kboot_from_an_xz_compressed_initramfs_boots() {
    let fixtures = fixtures();
    let root = format!("root=UUID={}", fixtures.var("ONEFS_ROOT_UUID"));
    let (_, marker) = boot_to_marker(
        "kboot_xz",
        &kboot_initramfs().cpio_xz,
        &fixtures.path("ONEFS_IMAGE"),
        &format!("console=ttyS0 {root} kboot.timeout=0"),
    );
    assert_eq!(marker.ramdisk, "new");
}

// The kboot kernel (`kernel/build`): kboot inside a small kernel with every driver
// built in, booted as QEMU's only `-kernel`, no `-initrd`.

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kboot_kernel_boots_the_disks_newest_kernel() {
    let fixtures = fixtures();
    let version = fixtures.kernel_version();
    let root = format!("root=UUID={}", fixtures.var("ONEFS_ROOT_UUID"));
    let (booting, marker) = boot_kernel_to_marker(
        "kboot_kernel_onefs",
        &kboot_kernel().bz_image,
        None,
        &fixtures.path("ONEFS_IMAGE"),
        &format!("console=ttyS0 {root} kboot.timeout=0"),
        &[],
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{version}"));
    assert_eq!(booting.ramdisk, format!("/boot/initrd.img-{version}"));
    assert_eq!(marker.ramdisk, "new");
    assert_eq!(marker.kernel_release, version);
    assert_eq!(booting.cmdline.trim(), marker.cmdline.trim());
    assert_words(&marker, &[&root, "console=ttyS0"], &["kboot."]);
    let log =
        std::fs::read_to_string(common::cache_dir().join("logs/kboot_kernel_onefs.log")).unwrap();
    assert!(
        log.contains("using built-in drivers only") && !log.contains("kboot: warning"),
        "the kboot kernel should run on built-in drivers without warnings:\n{log}"
    );
}

/// The same `vmlinux` ELF started through QEMU's PVH entry (the one a Xen PVH guest
/// uses): no decompression, no real-mode setup.
#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kboot_kernel_vmlinux_boots_through_the_pvh_entry() {
    let fixtures = fixtures();
    let version = fixtures.kernel_version();
    let root = format!("root=LABEL={}", fixtures.var("ONEFS_ROOT_LABEL"));
    let (booting, marker) = boot_kernel_to_marker(
        "kboot_kernel_pvh",
        &kboot_kernel().vmlinux,
        None,
        &fixtures.path("ONEFS_IMAGE"),
        &format!("console=ttyS0 {root} kboot.timeout=0"),
        &[],
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{version}"));
    assert_eq!(marker.ramdisk, "new");
    assert_eq!(marker.kernel_release, version);
    assert_words(&marker, &[&root, "console=ttyS0"], &["kboot."]);
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn kboot_kernel_menu_on_the_serial_console_boots_the_chosen_entry() {
    let fixtures = fixtures();
    let old = fixtures.var("OLD_KERNEL_VERSION");
    let (booting, marker) = boot_kernel_to_marker(
        "kboot_kernel_menu",
        &kboot_kernel().bz_image,
        None,
        &fixtures.path("ONEFS_IMAGE"),
        &format!(
            "console=ttyS0 root=LABEL={} kboot.timeout=60",
            fixtures.var("ONEFS_ROOT_LABEL")
        ),
        &[(MENU_HELP, "\x1b[B\r")],
    );
    assert_eq!(booting.kernel, format!("/boot/vmlinuz-{old}"));
    assert_eq!(marker.ramdisk, "old");
}
