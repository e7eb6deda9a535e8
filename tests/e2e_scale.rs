//! Faults and scale, end to end in QEMU (`cargo test --test e2e_scale -- --ignored
//! --test-threads=1`): many disks on one virtio-scsi controller, a small machine asked
//! to load a big kernel and ramdisk, and a RAID1 member whose reads fail while kboot
//! assembles the array. Each case boots the Debian cloud kernel with the kboot
//! initramfs; transcripts go to `target/kboot-cache/logs/scale_<case>.log`.
//!
//! Speed is measured, never asserted: the time to root is printed (`eprintln!`) for
//! the README's "Faults and scale" paragraph.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    cache_dir, fixtures, is_booting_line, is_marker_line, kboot_initramfs, storage_fixtures,
    Booting, DiskCopy, DrivesBootSpec, Marker, Qemu,
};

/// The key help at the foot of kboot's menu: the menu is on screen.
const MENU_HELP: &str = "s: rescue prompt";
/// kboot's rescue prompt.
const PROMPT: &str = "kboot> ";
/// The root LV of the r1lvm image set.
const R1LVM_ROOT: &str = "root=/dev/mapper/sys--vg-root";

fn scale_dir() -> PathBuf {
    let dir = cache_dir().join("scale");
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(command: &mut Command) -> Vec<u8> {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A sparse blank image of `size_bytes`.
fn blank_image(name: &str, size_bytes: u64) -> PathBuf {
    let image = scale_dir().join(format!("{name}.img"));
    let _ = fs::remove_file(&image);
    fs::File::create(&image)
        .unwrap()
        .set_len(size_bytes)
        .unwrap();
    image
}

/// The seconds since /init on kboot's `[T] root SPEC is DEVICE` line.
fn root_found_seconds(line: &str) -> Option<f64> {
    let rest = &line[line.find("kboot: [")? + "kboot: [".len()..];
    let (seconds, rest) = rest.split_once("] root ")?;
    rest.contains(" is ").then_some(())?;
    seconds.trim().parse().ok()
}

/// The newest kernel with its own ramdisk ran, with `root_word` passed on.
fn assert_booted_newest(qemu: &mut Qemu, booting: &Booting, marker: &Marker, root_word: &str) {
    let version = storage_fixtures().kernel_version();
    let ok = booting.kernel == format!("/boot/vmlinuz-{version}")
        && booting.ramdisk == format!("/boot/initrd.img-{version}")
        && marker.ramdisk == "new"
        && marker.kernel_release == version
        && marker.cmdline_words().contains(&root_word)
        && !marker
            .cmdline_words()
            .iter()
            .any(|word| word.starts_with("kboot."));
    qemu.check(ok, "kboot did not boot the newest kernel with its ramdisk");
}

/// What a boot to the marker showed.
struct MarkerBoot {
    root_seconds: f64,
    booting_seconds: f64,
    transcript: String,
}

/// Boots kboot with `drives` and `extra_args` and `root` on the command line, expects
/// the newest kernel's marker ramdisk, a clean power-off and no panic.
fn boot_to_marker(name: &str, drives: &[String], extra_args: &[String], root: &str) -> MarkerBoot {
    let kernel = fixtures().path("KERNEL_IMAGE");
    let append = format!("console=ttyS0 {root} kboot.timeout=0");
    let mut qemu = Qemu::start_with_drives(&DrivesBootSpec {
        name,
        kernel: &kernel,
        initrd: Some(&kboot_initramfs().cpio_gz),
        append: &append,
        drives,
        extra_args,
    });
    let root_line = qemu.expect_line("kboot's root line", |line| {
        root_found_seconds(line).is_some() || line.contains("kboot: error: ")
    });
    let Some(root_seconds) = root_found_seconds(&root_line) else {
        qemu.fail(&format!(
            "kboot failed instead of finding root: {root_line}"
        ))
    };
    let line = qemu.expect_line("kboot's booting line", |line| {
        is_booting_line(line) || line.contains("kboot: error: ")
    });
    if !is_booting_line(&line) {
        qemu.fail(&format!("kboot failed instead of booting: {line}"));
    }
    let marker_line = qemu.expect_line("the marker line", is_marker_line);
    qemu.expect_exit();
    qemu.check_no_panic();
    let booting = Booting::parse(&line).unwrap();
    let marker = Marker::parse(&marker_line).unwrap();
    assert_booted_newest(&mut qemu, &booting, &marker, root);
    MarkerBoot {
        root_seconds,
        booting_seconds: booting.seconds_since_init,
        transcript: qemu.transcript(),
    }
}

/// Boots with `disk_count` disks as LUNs of one virtio-scsi controller: the last four
/// are the two members of the r1lvm set (RAID1, root on its LV) and the two of the
/// r0part set (RAID0 with a partition table on the array); the others are blank. Returns the boot and checks every array member
/// is unchanged.
fn boot_scsi_luns(disk_count: usize) -> MarkerBoot {
    let name = format!("scale_scsi_{disk_count}");
    let fixtures = storage_fixtures();
    let members: Vec<PathBuf> = fixtures
        .set_disks("r1lvm")
        .into_iter()
        .chain(fixtures.set_disks("r0part"))
        .collect();
    assert!(disk_count >= members.len());
    let copies: Vec<DiskCopy> = members
        .iter()
        .enumerate()
        .map(|(index, disk)| DiskCopy::new(&format!("{name}-member{index}"), disk))
        .collect();
    let blanks: Vec<PathBuf> = (0..disk_count - members.len())
        .map(|index| blank_image(&format!("{name}-blank{index}"), 16 << 20))
        .collect();
    let disks: Vec<&Path> = blanks
        .iter()
        .map(PathBuf::as_path)
        .chain(copies.iter().map(DiskCopy::path))
        .collect();
    let drives: Vec<String> = disks
        .iter()
        .enumerate()
        .map(|(lun, disk)| format!("if=none,id=d{lun},file={},format=raw", disk.display()))
        .collect();
    let mut extra_args = vec![
        "-device".to_string(),
        "virtio-scsi-pci,id=scsi0".to_string(),
    ];
    for lun in 0..disks.len() {
        extra_args.push("-device".to_string());
        extra_args.push(format!(
            "scsi-hd,drive=d{lun},bus=scsi0.0,channel=0,scsi-id=0,lun={lun}"
        ));
    }
    let boot = boot_to_marker(&name, &drives, &extra_args, R1LVM_ROOT);
    for copy in &copies {
        copy.assert_unchanged();
    }
    for blank in &blanks {
        let _ = fs::remove_file(blank);
    }
    boot
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn root_on_raid1_lvm_is_found_among_4_16_and_64_scsi_luns() {
    let mut figures = Vec::new();
    for disk_count in [4, 16, 64] {
        let boot = boot_scsi_luns(disk_count);
        let loaded = boot
            .transcript
            .lines()
            .any(|line| line.contains("kboot: [") && line.contains("virtio_scsi"));
        assert!(loaded, "{disk_count} LUNs: kboot never loaded virtio_scsi");
        eprintln!(
            "scsi LUNs: {disk_count:>2} disks: root after {:.3} s of /init, booting after {:.3} s",
            boot.root_seconds, boot.booting_seconds
        );
        figures.push((disk_count, boot.root_seconds));
    }
    // Measured, not asserted: the ratios are for the README.
    let (base_count, base_seconds) = figures[0];
    for (disk_count, seconds) in &figures {
        eprintln!(
            "scsi LUNs: {disk_count:>2} disks ({:.0}x the disks): time to root {seconds:.3} s ({:.2}x)",
            *disk_count as f64 / base_count as f64,
            seconds / base_seconds
        );
    }
}

/// The marker ramdisk with an uncompressed cpio member holding `pad_bytes` of random
/// bytes appended: the kernel unpacks both into its rootfs.
fn padded_marker_ramdisk(pad_bytes: usize) -> Vec<u8> {
    let dir = tempfile::tempdir_in(scale_dir()).unwrap();
    let pad = dir.path().join("pad.bin");
    run(Command::new("sh").arg("-c").arg(format!(
        "head -c {pad_bytes} /dev/urandom >{}",
        pad.display()
    )));
    let list = dir.path().join("pad.list");
    fs::write(&list, format!("file /pad.bin {} 0644 0 0\n", pad.display())).unwrap();
    let cpio = run(Command::new(fixtures().path("GEN_INIT_CPIO")).arg(&list));
    let mut ramdisk = fs::read(fixtures().path("MARKER_NEW")).unwrap();
    // Zero bytes between archives are skipped; the next one starts 4-byte aligned.
    while !ramdisk.len().is_multiple_of(4) {
        ramdisk.push(0);
    }
    ramdisk.extend_from_slice(&cpio);
    ramdisk
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn big_kernel_and_60_mb_ramdisk_in_256_mib_boots_or_fails_clearly_never_oom() {
    let version = fixtures().kernel_version().to_string();
    let kernel = fs::read(fixtures().path("KERNEL_IMAGE")).unwrap();
    let ramdisk = padded_marker_ramdisk(60 << 20);
    let tree = tempfile::tempdir_in(scale_dir()).unwrap();
    fs::create_dir_all(tree.path().join("boot")).unwrap();
    fs::write(tree.path().join(format!("boot/vmlinuz-{version}")), &kernel).unwrap();
    fs::write(
        tree.path().join(format!("boot/initrd.img-{version}")),
        &ramdisk,
    )
    .unwrap();
    let image = scale_dir().join("big_ramdisk.img");
    let _ = fs::remove_file(&image);
    run(Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-L", "bigboot", "-d"])
        .arg(tree.path())
        .arg(&image)
        .arg("128M"));
    drop(tree);
    let copy = DiskCopy::new("scale_big_ramdisk_0", &image);
    eprintln!(
        "big ramdisk: kernel {:.1} MB, ramdisk {:.1} MB, guest RAM 256 MiB",
        kernel.len() as f64 / 1e6,
        ramdisk.len() as f64 / 1e6
    );
    let drives = [format!(
        "file={},format=raw,if=virtio",
        copy.path().display()
    )];
    let kernel_image = fixtures().path("KERNEL_IMAGE");
    let mut qemu = Qemu::start_with_drives_and_memory(
        &DrivesBootSpec {
            name: "scale_big_ramdisk",
            kernel: &kernel_image,
            initrd: Some(&kboot_initramfs().cpio_gz),
            append: "console=ttyS0 root=LABEL=bigboot kboot.timeout=0",
            drives: &drives,
            extra_args: &[],
        },
        256,
    );
    let outcome = match qemu.wait_for_any(&["KBOOT-MARKER ", MENU_HELP, PROMPT]) {
        Ok((index, _)) => index,
        Err(failure) => qemu.fail(&format!(
            "waiting for the marker, the menu or the rescue prompt: {failure:?}"
        )),
    };
    match outcome {
        0 => {
            qemu.expect_exit();
            eprintln!("big ramdisk: booted to the marker");
        }
        _ => {
            let transcript = qemu.transcript();
            let error = transcript
                .lines()
                .find(|line| line.contains("kboot: error: "))
                .map(str::to_string);
            let Some(error) = error else {
                qemu.fail("back at the menu or rescue prompt without a kboot error line")
            };
            eprintln!("big ramdisk: kboot refused: {error}");
            if outcome == 1 {
                qemu.send_keys("s");
                qemu.expect_text(PROMPT);
            }
            qemu.send_line("poweroff");
            qemu.expect_exit();
        }
    }
    qemu.check_no_panic();
    let transcript = qemu.transcript();
    for needle in ["Out of memory", "oom-kill", "Killed process 1 "] {
        qemu.check(
            !transcript.contains(needle),
            &format!("the kernel log shows {needle:?}"),
        );
    }
    copy.assert_unchanged();
}

#[test]
#[ignore = "QEMU tier: cargo test -- --ignored"]
fn raid1_member_failing_superblock_reads_runs_degraded_naming_it() {
    let fixtures = storage_fixtures();
    let members = fixtures.set_disks("r1lvm");
    let copies: Vec<DiskCopy> = members
        .iter()
        .enumerate()
        .map(|(index, disk)| {
            DiskCopy::new(&format!("scale_failing_member-disk{}", index + 1), disk)
        })
        .collect();
    // The 1.2 superblock of vdb1: 4 KiB into the partition.
    let member_offset: u64 = fixtures
        .var("R1LVM_DISK2_MEMBER_OFFSET_BYTES")
        .parse()
        .unwrap();
    let super_sectors: u64 = fixtures
        .var("R1LVM_MD_MEMBER2_SUPER_OFFSET_SECTORS")
        .parse()
        .unwrap();
    let sector = member_offset / 512 + super_sectors;
    let config = scale_dir().join("failing_member.blkdebug");
    fs::write(
        &config,
        format!("[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nsector = \"{sector}\"\n"),
    )
    .unwrap();
    let drives = [
        format!("file={},format=raw,if=virtio", copies[0].path().display()),
        format!(
            "if=virtio,format=raw,file.driver=blkdebug,file.config={},file.image.filename={}",
            config.display(),
            copies[1].path().display()
        ),
    ];
    let boot = boot_to_marker("scale_failing_member", &drives, &[], R1LVM_ROOT);
    let warnings: Vec<&str> = boot
        .transcript
        .lines()
        .filter(|line| line.contains("kboot: warning: "))
        .collect();
    eprintln!("failing member: kboot warned:\n{}", warnings.join("\n"));
    assert!(
        warnings
            .iter()
            .any(|line| line.contains("degraded") && line.contains("vdb1")),
        "no kboot warning says the array is degraded naming the failing member vdb1:\n{}",
        boot.transcript
    );
    assert!(
        boot.transcript
            .lines()
            .any(|line| line.contains("assembled") && line.contains("members vda1)")),
        "the array did not run from vda1 alone:\n{}",
        boot.transcript
    );
    for copy in &copies {
        copy.assert_unchanged();
    }
}
