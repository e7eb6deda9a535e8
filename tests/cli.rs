//! kboot as a tool: `kboot devices` on disk images made by sfdisk and mke2fs/mkfs.vfat,
//! and `kboot entries` on a /boot tree.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::process::Command;

fn kboot(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kboot"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (tests/setup-debian.sh installs it)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const ROOT_UUID: &str = "6c9a3b52-1f0e-4e8e-9a57-3a4f0c1d2e3f";
const DISK_GUID: &str = "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0";
const P1_GUID: &str = "11111111-2222-4333-8444-555555555555";
const P2_GUID: &str = "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE";

/// A GPT disk with an ext4 root (LABEL=clroot) and a FAT32 partition (LABEL=CLEFI).
fn make_disk(dir: &Path) -> std::path::PathBuf {
    let img = dir.join("disk.img");
    fs::File::create(&img).unwrap().set_len(80 << 20).unwrap();
    let script = format!(
        "label: gpt\nlabel-id: {DISK_GUID}\n\
         start=2048, size=65536, type=linux, uuid={P1_GUID}, name=\"root part\"\n\
         start=67584, size=65536, type=uefi, uuid={P2_GUID}, name=esp\n"
    );
    let mut sfdisk = Command::new("sfdisk");
    sfdisk
        .arg("--quiet")
        .arg(&img)
        .stdin(std::process::Stdio::piped());
    let mut child = sfdisk.spawn().expect("sfdisk (package fdisk)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    run(Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-L", "clroot", "-U", ROOT_UUID])
        .args(["-E", &format!("offset={}", 2048 * 512)])
        .arg(&img)
        .arg("32768k"));
    // mkfs.vfat cannot write at an offset: make the filesystem alone, then splice it in.
    let fat = dir.join("fat.img");
    run(Command::new("mkfs.vfat")
        .args(["-F", "32", "-n", "CLEFI", "-i", "1234ABCD", "-C"])
        .arg(&fat)
        .arg("32768"));
    run(Command::new("dd")
        .arg(format!("if={}", fat.display()))
        .arg(format!("of={}", img.display()))
        .args(["bs=512", "seek=67584", "conv=notrunc,sparse", "status=none"]));
    img
}

#[test]
fn devices_on_an_image_lists_partitions_as_blkid_does() {
    let tmp = tempfile::tempdir().unwrap();
    let img = make_disk(tmp.path());
    let (ok, out, err) = kboot(&["devices", img.to_str().unwrap()]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[1].ends_with(&format!(
        ":1: LABEL=\"clroot\" UUID=\"{ROOT_UUID}\" TYPE=\"ext4\" PARTLABEL=\"root part\" PARTUUID=\"{}\"",
        P1_GUID.to_lowercase()
    )), "{out}");
    assert!(
        lines[2].ends_with(&format!(
        ":2: LABEL=\"CLEFI\" UUID=\"1234-ABCD\" TYPE=\"vfat\" PARTLABEL=\"esp\" PARTUUID=\"{}\"",
        P2_GUID.to_lowercase()
    )),
        "{out}"
    );

    let (ok, json, err) = kboot(&["devices", "--json", img.to_str().unwrap()]);
    assert!(ok, "{err}");
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed[1]["fs"]["uuid"], ROOT_UUID);
    assert_eq!(parsed[1]["offset_bytes"], 2048 * 512);
    assert_eq!(parsed[2]["partlabel"], "esp");
}

#[test]
fn entries_lists_kernels_newest_first_with_the_target_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let boot = tmp.path().join("boot");
    fs::create_dir_all(&boot).unwrap();
    for f in [
        "vmlinuz-6.1.0-9-amd64",
        "initrd.img-6.1.0-9-amd64",
        "vmlinuz-6.1.0-10-amd64",
    ] {
        fs::write(boot.join(f), f).unwrap();
    }
    let root = tmp.path().to_str().unwrap();
    let (ok, out, err) = kboot(&[
        "entries",
        "--root",
        root,
        "--cmdline",
        "root=LABEL=r boot=LABEL=b kboot.timeout=3 kboot.append=\"quiet\" console=ttyS0",
    ]);
    // boot= names a device, but --boot was not given: entries reads the root tree.
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "1)*Linux 6.1.0-10-amd64\n   kernel  /boot/vmlinuz-6.1.0-10-amd64\n   initrd  none\n   \
         cmdline \"root=LABEL=r console=ttyS0 quiet\"\n   source  scan\n\
         2) Linux 6.1.0-9-amd64\n   kernel  /boot/vmlinuz-6.1.0-9-amd64\n   initrd  /boot/initrd.img-6.1.0-9-amd64\n   \
         cmdline \"root=LABEL=r console=ttyS0 quiet\"\n   source  scan\n"
    );
    let (ok, _, err) = kboot(&["entries", "--root", root, "--cmdline", "kernel=/boot/nope"]);
    assert!(!ok);
    assert!(err.contains("kernel=/boot/nope not found"), "{err}");
}

/// A Fedora /boot partition (tests/data/bls/fedora39): GRUB's `blscfg` shows the BLS
/// entries, `saved_entry` in grubenv picks the default, the rescue entry's kernel is
/// missing, and the scanned kernels follow with kboot's own command line.
#[test]
fn entries_from_a_fedora_boot_partition() {
    let empty_root = tempfile::tempdir().unwrap();
    let boot = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/bls/fedora39");
    let (ok, out, err) = kboot(&[
        "entries",
        "--root",
        empty_root.path().to_str().unwrap(),
        "--boot",
        boot,
        "--cmdline",
        "root=LABEL=r kboot.append=console=ttyS0",
    ]);
    assert!(ok, "{err}");
    let titles: Vec<&str> = out.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        titles,
        [
            "1) Fedora Linux (6.5.6-300.fc39.x86_64) 39 (Thirty Nine)",
            "2)*Fedora Linux (6.5.5-200.fc39.x86_64) 39 (Thirty Nine)",
            "3) Fedora Linux (0-rescue-2d6a0e5f3c1e4d0b9e8f7a6b5c4d3e2f) 39 (Thirty Nine)",
            "4) Linux 6.5.6-300.fc39.x86_64",
            "5) Linux 6.5.5-200.fc39.x86_64",
            "timeout 5 s (from the config)",
        ]
    );
    assert!(out.contains(
        "   cmdline \"root=UUID=4b424f4f-0005-4000-8000-0000000000f1 ro rootflags=subvol=root \
         rhgb quiet skew_tick=1 nohz=on console=ttyS0\"\n   source  bls\n"
    ));
    assert!(out.contains("   MISSING /vmlinuz-0-rescue-2d6a0e5f3c1e4d0b9e8f7a6b5c4d3e2f\n"));
}

#[test]
fn help_lists_the_subcommands() {
    let (ok, out, _) = kboot(&["--help"]);
    assert!(ok);
    for sub in ["devices", "entries", "kexec", "mkinitramfs"] {
        assert!(out.contains(&format!("kboot {sub}")), "{out}");
    }
    let (ok, _, err) = kboot(&["frobnicate"]);
    assert!(!ok);
    assert!(err.contains("unknown command"), "{err}");
}

#[test]
fn every_subcommand_prints_its_usage_for_help_and_exits_0() {
    for sub in ["devices", "entries", "kexec", "mkinitramfs"] {
        for flag in ["--help", "-h"] {
            let (ok, out, err) = kboot(&[sub, flag]);
            assert!(ok, "kboot {sub} {flag} failed: {err}");
            assert!(out.contains("usage:"), "kboot {sub} {flag}: {out}");
            assert!(
                out.contains(&format!("kboot {sub}")),
                "kboot {sub} {flag}: {out}"
            );
            assert!(!err.contains("unknown option"), "kboot {sub} {flag}: {err}");
        }
    }
}

/// A minimal 64-bit bzImage: protocol 2.15, relocatable, 2 MiB alignment, 16 MiB
/// preferred address, init_size 0x20100, a 0x3000-byte payload.
fn synthetic_bzimage() -> Vec<u8> {
    let offset = 4 * 512;
    let mut k = vec![0u8; offset + 0x3000];
    k[0x1f1] = 3;
    k[0x1f4..0x1f8].copy_from_slice(&(0x3000u32 / 16).to_le_bytes());
    k[0x1fe..0x200].copy_from_slice(&0xaa55u16.to_le_bytes());
    k[0x200..0x202].copy_from_slice(&[0xeb, 0x6a]);
    k[0x202..0x206].copy_from_slice(b"HdrS");
    k[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
    k[0x211] = 1;
    k[0x22c..0x230].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    k[0x230..0x234].copy_from_slice(&0x20_0000u32.to_le_bytes());
    k[0x234] = 1;
    k[0x236..0x238].copy_from_slice(&0x7fu16.to_le_bytes());
    k[0x238..0x23c].copy_from_slice(&0x7ffu32.to_le_bytes());
    k[0x258..0x260].copy_from_slice(&0x100_0000u64.to_le_bytes());
    k[0x260..0x264].copy_from_slice(&0x2_0100u32.to_le_bytes());
    k
}

const QEMU_MEMMAP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/memmap-qemu-1g");

#[test]
fn kexec_dry_run_prints_the_layout_for_the_qemu_memory_map() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("vmlinuz");
    fs::write(&kernel, synthetic_bzimage()).unwrap();
    let initrd = dir.path().join("initrd");
    fs::write(&initrd, vec![7u8; 0x1800]).unwrap();
    let (ok, out, err) = kboot(&[
        "kexec",
        "-l",
        kernel.to_str().unwrap(),
        &format!("--initrd={}", initrd.display()),
        "--append=console=ttyS0 ro",
        "--dry-run",
        "--memmap-root",
        QEMU_MEMMAP,
    ]);
    assert!(ok, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["loader"], "bzImage");
    assert_eq!(plan["regs"]["rip"], "0x1000200");
    assert_eq!(plan["regs"]["rsi"], "0x100000");
    assert_eq!(plan["cmdline"], "console=ttyS0 ro");
    let roles: Vec<(&str, &str, &str, &str)> = plan["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["role"].as_str().unwrap(),
                s["mem"].as_str().unwrap(),
                s["memsz"].as_str().unwrap(),
                s["reserved"].as_str().unwrap(),
            )
        })
        .collect();
    // The kernel's init_size (0x20100) stays free; only its payload is loaded.
    assert_eq!(
        roles,
        [
            ("kernel", "0x1000000", "0x3000", "0x21000"),
            ("ramdisk", "0x3ffdb000", "0x2000", "0x2000"),
            ("boot-params", "0x100000", "0x2000", "0x2000"),
            ("purgatory", "0x102000", "0x2000", "0x2000"),
        ]
    );
}

#[test]
fn kexec_dump_writes_the_plan_and_every_segment() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("vmlinuz");
    let image = synthetic_bzimage();
    fs::write(&kernel, &image).unwrap();
    let out_dir = dir.path().join("dump");
    let (ok, _, err) = kboot(&[
        "kexec",
        "-l",
        kernel.to_str().unwrap(),
        "--command-line",
        "quiet",
        "--dump",
        out_dir.to_str().unwrap(),
        "--memmap-root",
        QEMU_MEMMAP,
    ]);
    assert!(ok, "{err}");
    let mut names: Vec<String> = fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "0-kernel.bin",
            "1-boot-params.bin",
            "2-purgatory.bin",
            "plan.json"
        ]
    );
    assert_eq!(
        fs::read(out_dir.join("0-kernel.bin")).unwrap(),
        &image[4 * 512..]
    );
    let zero_page = fs::read(out_dir.join("1-boot-params.bin")).unwrap();
    assert_eq!(&zero_page[0x202..0x206], b"HdrS");
    assert_eq!(zero_page[0x210], 0xff, "type_of_loader");
    assert_eq!(&zero_page[0x1000..], b"quiet\0");
    assert_eq!(zero_page[0x1e8], 7, "e820 entries from the fixture map");
}

#[test]
fn kexec_refuses_a_file_that_is_no_kernel_with_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("notes.txt");
    fs::write(&kernel, vec![b'x'; 4096]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kboot"))
        .args(["kexec", "-l", kernel.to_str().unwrap(), "--dry-run"])
        .args(["--memmap-root", QEMU_MEMMAP])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notes.txt") && err.contains("no loader recognises"),
        "{err}"
    );
}

/// Runs kboot, failing the test (and killing kboot) if it has not finished within
/// `limit`: hostile files must not make it wait forever.
fn kboot_within(args: &[&str], limit: std::time::Duration) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kboot"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("kboot {args:?} still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const HANG_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

/// `kboot entries` on the tree at `root`, with an empty command line, within
/// `HANG_LIMIT`.
fn entries_within(root: &Path) -> (Option<i32>, String, String) {
    kboot_within(
        &["entries", "--root", root.to_str().unwrap(), "--cmdline", ""],
        HANG_LIMIT,
    )
}

fn mkfifo(path: &Path) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRWXU).unwrap();
}

#[test]
fn entries_warns_about_fifo_configs_instead_of_waiting_on_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("boot")).unwrap();
    fs::write(root.join("boot/vmlinuz-6.1.0-9-amd64"), b"kernel").unwrap();
    for config in [
        "boot/grub/grub.cfg",
        "boot/grub2/grub.cfg",
        "boot/grub/grubenv",
        "boot/loader/loader.conf",
        "boot/loader/entries/fifo.conf",
    ] {
        mkfifo(&root.join(config));
    }
    let (code, out, err) = entries_within(root);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("/boot/vmlinuz-6.1.0-9-amd64"), "{out}");
    for config in [
        "boot/grub/grub.cfg",
        "boot/grub/grubenv",
        "boot/loader/loader.conf",
        "boot/loader/entries/fifo.conf",
    ] {
        let line = format!(
            "cannot read {}: it is a FIFO, not a regular file",
            root.join(config).display()
        );
        assert!(err.contains(&line), "no {line:?} in:\n{err}");
    }
}

#[test]
fn entries_refuses_an_oversized_grub_cfg_by_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("boot/grub")).unwrap();
    fs::write(root.join("boot/vmlinuz-6.1.0-9-amd64"), b"kernel").unwrap();
    // Sparse, one byte over the limit: nothing is written, and kboot must not read
    // it to find out.
    fs::File::create(root.join("boot/grub/grub.cfg"))
        .unwrap()
        .set_len((16 << 20) + 1)
        .unwrap();
    let (code, out, err) = entries_within(root);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("/boot/vmlinuz-6.1.0-9-amd64"), "{out}");
    assert!(
        err.contains("it is 16777217 bytes, more than the 16777216 bytes a grub.cfg may be"),
        "{err}"
    );
}

#[test]
fn devices_names_a_directory_or_fifo_given_as_an_image_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = kboot_within(&["devices", dir.path().to_str().unwrap()], HANG_LIMIT);
    assert_ne!(code, Some(0), "{out}");
    assert!(
        err.contains("it is a directory, not a regular file or block device"),
        "{err}"
    );
    assert!(!out.contains("md member"), "{out}");
    let fifo = dir.path().join("disk.img");
    mkfifo(&fifo);
    let (code, _, err) = kboot_within(&["devices", fifo.to_str().unwrap()], HANG_LIMIT);
    assert_ne!(code, Some(0));
    assert!(
        err.contains(&format!(
            "cannot open {}: it is a FIFO, not a regular file or block device",
            fifo.display()
        )),
        "{err}"
    );
}

/// `kexec --info` reads the whole kernel: a FIFO, a character device, a sparse file
/// one byte over the limit and a symlink loop are each refused at once, named, and with why.
#[test]
fn kexec_info_refuses_kernels_that_are_no_regular_file_or_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let sparse = dir.path().join("sparse");
    fs::File::create(&sparse)
        .unwrap()
        .set_len((512 << 20) + 1)
        .unwrap();
    let looping = dir.path().join("loop");
    std::os::unix::fs::symlink(&looping, &looping).unwrap();
    for (kernel, why) in [
        (fifo.as_path(), "it is a FIFO, not a regular file"),
        (
            Path::new("/dev/zero"),
            "it is a character device, not a regular file",
        ),
        (
            sparse.as_path(),
            "it is 536870913 bytes, more than the 536870912 bytes a kernel file may be",
        ),
        (looping.as_path(), "symbolic links"),
    ] {
        let (code, _, err) =
            kboot_within(&["kexec", "--info", kernel.to_str().unwrap()], HANG_LIMIT);
        assert_ne!(code, Some(0));
        assert!(
            err.contains(&format!("cannot read {}: ", kernel.display())) && err.contains(why),
            "{err}"
        );
    }
}

#[test]
fn entries_keeps_bls_paths_and_a_boot_symlink_inside_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    fs::create_dir_all(root.join("loader/entries")).unwrap();
    // `/boot` -> `/`: the tree's own root, never the host's.
    std::os::unix::fs::symlink("/", root.join("boot")).unwrap();
    fs::write(root.join("vmlinuz-6.1.0-9-amd64"), b"kernel").unwrap();
    fs::write(
        root.join("loader/entries/escape.conf"),
        "title escape\nlinux /../../../../../../etc/hostname\n",
    )
    .unwrap();
    let (code, out, err) = entries_within(&root);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("MISSING /../../../../../../etc/hostname"),
        "the host's /etc/hostname was taken for the kernel:\n{out}"
    );
    assert!(out.contains("kernel  /boot/vmlinuz-6.1.0-9-amd64"), "{out}");
    let kernels = out.lines().filter(|l| l.contains("kernel  ")).count();
    assert_eq!(kernels, 2, "only the tree's own entries:\n{out}");
}

#[test]
fn entries_warns_about_a_kernel_name_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("boot")).unwrap();
    fs::write(root.join("boot/vmlinuz-6.1.0-9-amd64"), b"kernel").unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"vmlinuz-6.2-\xff");
    fs::write(root.join("boot").join(odd), b"kernel").unwrap();
    let (code, out, err) = entries_within(root);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("/boot/vmlinuz-6.1.0-9-amd64"), "{out}");
    assert!(
        err.contains("\"vmlinuz-6.2-\\xff\" is left out: its name is not UTF-8"),
        "{err}"
    );
}

/// An entry whose kernel is a symlink loop or a FIFO is listed as MISSING, and a
/// warning says what is wrong with the file.
#[test]
fn entries_says_why_an_entry_kernel_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let entries = root.join("boot/loader/entries");
    fs::create_dir_all(&entries).unwrap();
    std::os::unix::fs::symlink("vmlinuz-loop", root.join("boot/vmlinuz-loop")).unwrap();
    mkfifo(&root.join("boot/vmlinuz-fifo"));
    fs::write(
        entries.join("loop.conf"),
        "title loop\nlinux /boot/vmlinuz-loop\n",
    )
    .unwrap();
    fs::write(
        entries.join("fifo.conf"),
        "title fifo\nlinux /boot/vmlinuz-fifo\n",
    )
    .unwrap();
    let (code, out, err) = entries_within(root);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("MISSING /boot/vmlinuz-loop"), "{out}");
    assert!(out.contains("MISSING /boot/vmlinuz-fifo"), "{out}");
    for (kernel, why) in [
        (
            "boot/vmlinuz-loop",
            "more than 40 symbolic links to follow (a symlink loop?)",
        ),
        ("boot/vmlinuz-fifo", "it is a FIFO, not a regular file"),
    ] {
        let line = format!("cannot read {}: {why}", root.join(kernel).display());
        assert!(err.contains(&line), "no {line:?} in:\n{err}");
    }
}

/// A root whose grub.cfg and BLS entry carry terminal escapes, a forged line and a
/// one-character CSI (U+009B) in titles and options.
fn hostile_titles_root(dir: &Path) {
    fs::create_dir_all(dir.join("boot/grub")).unwrap();
    fs::create_dir_all(dir.join("boot/loader/entries")).unwrap();
    fs::write(dir.join("boot/vmlinuz-1"), "k").unwrap();
    fs::write(
        dir.join("boot/grub/grub.cfg"),
        "menuentry 'evil\x1b[2J\nkboot: fake line' {\n linux /boot/vmlinuz-1 x\x1b[31m\n}\n",
    )
    .unwrap();
    fs::write(
        dir.join("boot/loader/entries/a.conf"),
        "title bls\x1b[2J\u{9b}2J\u{202e}\nlinux /boot/vmlinuz-1\noptions a\x07b\n",
    )
    .unwrap();
}

#[test]
fn entries_shows_titles_and_options_with_control_characters_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    hostile_titles_root(tmp.path());
    let root = tmp.path().to_str().unwrap();
    let (ok, out, err) = kboot(&["entries", "--root", root, "--cmdline", ""]);
    assert!(ok, "{err}");
    assert!(out.contains(") bls\\x1b[2J\\u{9b}2J\\u{202e}\n"), "{out}");
    assert!(out.contains("   cmdline \"a\\x07b\"\n"), "{out}");
    assert!(out.contains(")*evil\\x1b[2J\\nkboot: fake line\n"), "{out}");
    assert!(out.contains("   cmdline \"x\\x1b[31m\"\n"), "{out}");
    assert!(
        !out.lines().any(|l| l.starts_with("kboot: fake line")),
        "{out}"
    );
    assert!(
        !out.chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
        "{out:?}"
    );
    // --json keeps the text as it is, escaped the JSON way.
    let (ok, json, err) = kboot(&["entries", "--root", root, "--cmdline", "", "--json"]);
    assert!(ok, "{err}");
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed[1]["title"], "evil\x1b[2J\nkboot: fake line");
}

/// Runs kboot with its stdout a pipe whose reader is already gone, as `| head -1`
/// leaves it once `head` has its line.
fn kboot_into_a_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_kboot"))
        .args(args)
        .stdout(writer)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_pipe_ends_devices_entries_and_help_quietly_with_status_0() {
    let tmp = tempfile::tempdir().unwrap();
    hostile_titles_root(tmp.path());
    let image = tmp.path().join("zero.img");
    fs::File::create(&image).unwrap().set_len(1 << 20).unwrap();
    let root = tmp.path().to_str().unwrap();
    for args in [
        &["entries", "--root", root, "--cmdline", ""][..],
        &["entries", "--root", root, "--cmdline", "", "--json"],
        &["devices", image.to_str().unwrap()],
        &["devices", "--json", image.to_str().unwrap()],
        &["--help"],
        &["--version"],
    ] {
        let (status, err) = kboot_into_a_closed_pipe(args);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        assert_eq!(status, Some(0), "{args:?}: {err}");
    }
}

#[test]
fn kexec_info_on_a_cut_bzimage_says_it_is_truncated_and_does_not_speak_of_kexec_load() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("vmlinuz");
    fs::write(&kernel, &synthetic_bzimage()[..512]).unwrap();
    let (ok, _, err) = kboot(&["kexec", "--info", kernel.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("cannot describe") && err.contains("vmlinuz") && err.contains("truncated"),
        "{err}"
    );
    assert!(
        !err.contains("kexec_load") && !err.contains("lay out"),
        "{err}"
    );
}

/// An i386 ELF32 multiboot kernel as Xen is laid out: one PT_LOAD at file offset 0x80,
/// physical 0x200000 (0x1000 bytes of file, 0x3000 in memory), the multiboot 1 header
/// at 0x88 (page-aligned modules, memory information) and a multiboot 2 header at 0x98
/// (required: basic memory and memory map information, module alignment).
fn synthetic_multiboot() -> Vec<u8> {
    let mut f = vec![0u8; 0x1080];
    let mut put = |at: usize, bytes: &[u8]| f[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, b"\x7fELF\x01\x01\x01");
    put(16, &2u16.to_le_bytes());
    put(18, &3u16.to_le_bytes());
    for (at, word) in [(20, 1u32), (24, 0x20_0000), (28, 52)] {
        put(at, &word.to_le_bytes());
    }
    for (at, half) in [(40, 52u16), (42, 32), (44, 1)] {
        put(at, &half.to_le_bytes());
    }
    for (i, word) in [1u32, 0x80, 0x20_0000, 0x20_0000, 0x1000, 0x3000, 7]
        .iter()
        .enumerate()
    {
        put(52 + 4 * i, &word.to_le_bytes());
    }
    let mb1: [u32; 3] = [0x1BAD_B002, 3, 0u32.wrapping_sub(0x1BAD_B002 + 3)];
    let tags: [u32; 8] = [1, 16, 4, 6, 6, 8, 0, 8];
    let length = 16 + 4 * tags.len() as u32;
    let mb2 = [
        0xE852_50D6,
        0,
        length,
        0u32.wrapping_sub(0xE852_50D6).wrapping_sub(length),
    ];
    let words: Vec<u8> = mb1.iter().flat_map(|w| w.to_le_bytes()).collect();
    put(0x88, &words);
    let words: Vec<u8> = mb2
        .iter()
        .chain(&tags)
        .flat_map(|w| w.to_le_bytes())
        .collect();
    put(0x98, &words);
    f
}

#[test]
fn kexec_info_names_a_multiboot_kernel_and_its_headers() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("xen");
    fs::write(&kernel, synthetic_multiboot()).unwrap();
    let (ok, out, err) = kboot(&["kexec", "--info", kernel.to_str().unwrap()]);
    assert!(ok, "{err}");
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["loader"], "multiboot2-x86");
    let parsed = &info["parsed"]["Multiboot"];
    assert_eq!(parsed["version"], 2);
    assert_eq!(parsed["format"], "elf32");
    assert_eq!(parsed["entry"], 0x20_0000);
    assert_eq!(parsed["multiboot1"]["offset"], 0x88);
    assert_eq!(parsed["multiboot1"]["flags"], 3);
    assert_eq!(parsed["multiboot2"]["offset"], 0x98);
    assert_eq!(
        parsed["multiboot2"]["info_requests"],
        serde_json::json!([4, 6])
    );
    assert_eq!(parsed["loads"][0]["memsz"], 0x3000);

    let (ok, out, err) = kboot(&[
        "kexec",
        "--info",
        "--type=multiboot-x86",
        kernel.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["loader"], "multiboot-x86");
    assert_eq!(info["parsed"]["Multiboot"]["version"], 1);
}

#[test]
fn kexec_type_refuses_unknown_names_and_images_not_of_that_type() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("xen");
    fs::write(&kernel, synthetic_multiboot()).unwrap();
    let path = kernel.to_str().unwrap();
    let (ok, _, err) = kboot(&["kexec", "-l", path, "--type", "xen", "--dry-run"]);
    assert!(!ok);
    assert!(
        err.contains("unknown kernel type \"xen\"") && err.contains("multiboot-x86"),
        "{err}"
    );
    let (ok, _, err) = kboot(&["kexec", "--info", "--type=bzImage", path]);
    assert!(!ok);
    assert!(err.contains("not of type bzImage"), "{err}");
}

#[test]
fn kexec_dry_run_prints_the_multiboot_layout() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("xen");
    fs::write(&kernel, synthetic_multiboot()).unwrap();
    let dom0 = dir.path().join("vmlinuz");
    fs::write(&dom0, vec![1u8; 0x2800]).unwrap();
    let initrd = dir.path().join("initrd.img");
    fs::write(&initrd, vec![2u8; 10]).unwrap();
    let dom0_module = format!("{} root=/dev/vda1", dom0.display());
    let (ok, out, err) = kboot(&[
        "kexec",
        "-l",
        kernel.to_str().unwrap(),
        "--type=multiboot-x86",
        "--command-line=dom0=pvh",
        "--module",
        &dom0_module,
        "--module",
        initrd.to_str().unwrap(),
        "--dry-run",
        "--memmap-root",
        QEMU_MEMMAP,
    ]);
    assert!(ok, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["loader"], "multiboot-x86");
    let mb = &plan["multiboot"];
    assert_eq!(mb["magic"], "0x2badb002");
    assert_eq!(mb["entry"], "0x200000");
    assert_eq!(mb["mem_lower_kib"], 639);
    assert_eq!(mb["cmdline"], format!("{} dom0=pvh", kernel.display()));
    assert_eq!(mb["loader_name"], "kboot");
    assert_eq!(mb["modules"][0]["cmdline"], dom0_module.as_str());
    assert_eq!(mb["modules"][1]["cmdline"], initrd.to_str().unwrap());
    assert_eq!(mb["mmap"].as_array().unwrap().len(), 7);
    let roles: Vec<&str> = plan["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["kernel", "module", "module", "boot-params", "purgatory"]
    );
    assert_eq!(plan["segments"][0]["mem"], "0x200000");
    assert_eq!(plan["segments"][0]["memsz"], "0x3000");
}

/// A Xen host's /boot (Debian's real grub-mkconfig output with Xen installed; the
/// kernels and Xen are placeholders) plus an entry kboot cannot boot: `kboot entries`
/// lists the Xen entries with the hypervisor, its protocol and the modules in order,
/// and the chainloader entry marked with the reason instead of leaving it out.
#[test]
fn entries_shows_xen_entries_with_their_modules_and_marks_what_cannot_boot() {
    let tmp = tempfile::tempdir().unwrap();
    let boot = tmp.path().join("boot");
    fs::create_dir_all(boot.join("grub")).unwrap();
    let mut cfg = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/grub/debian-xen.cfg"
    ))
    .unwrap();
    cfg.push_str(
        "menuentry 'Windows Boot Manager' { chainloader /EFI/Microsoft/Boot/bootmgfw.efi }\n",
    );
    fs::write(boot.join("grub/grub.cfg"), cfg).unwrap();
    for f in [
        "xen-4.17-amd64.gz",
        "vmlinuz-6.1.0-13-amd64",
        "initrd.img-6.1.0-13-amd64",
        "vmlinuz-6.1.0-9-amd64",
        "initrd.img-6.1.0-9-amd64",
    ] {
        fs::write(boot.join(f), f).unwrap();
    }
    let root = tmp.path().to_str().unwrap();
    let (ok, out, err) = kboot(&["entries", "--root", root, "--cmdline", ""]);
    assert!(ok, "{err}");
    assert!(err.is_empty(), "{err}");
    let uuid = "4b424f4f-0005-4000-8000-000000000001";
    let xen = format!(
        "6) Debian GNU/Linux, with Xen hypervisor\n   \
         kernel  /boot/xen-4.17-amd64.gz (multiboot2)\n   \
         module  /boot/vmlinuz-6.1.0-13-amd64 args \"placeholder root=UUID={uuid} ro console=hvc0 quiet\"\n   \
         module  /boot/initrd.img-6.1.0-13-amd64\n   \
         cmdline \"placeholder dom0=pvh iommu=1 console=com1 com1=115200,8n1 dom0_mem=1024M\"\n   \
         source  grub\n"
    );
    assert!(out.contains(&xen), "{out}");
    assert!(
        out.contains(
            "10) Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-9-amd64 (recovery mode)\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "11) Windows Boot Manager\n   CANNOT BOOT chainloader (another boot loader)\n   source  grub\n"
        ),
        "{out}"
    );
    assert!(out.starts_with("1)*Debian GNU/Linux\n"), "{out}");

    // The same as JSON: kind and modules, the reason; Linux entries without either.
    let (ok, json, err) = kboot(&["entries", "--json", "--root", root, "--cmdline", ""]);
    assert!(ok, "{err}");
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(list[5]["kind"], "multiboot2");
    assert_eq!(
        list[5]["modules"][1]["path"],
        "/boot/initrd.img-6.1.0-13-amd64"
    );
    assert_eq!(list[10]["cannot_boot"], "chainloader (another boot loader)");
    assert!(list[0].get("kind").is_none() && list[0].get("modules").is_none());

    // The default naming the entry kboot cannot boot: one warning, the first entry.
    let cfg = fs::read_to_string(boot.join("grub/grub.cfg")).unwrap();
    fs::write(
        boot.join("grub/grub.cfg"),
        cfg.replace("set default=\"0\"", "set default=\"Windows Boot Manager\""),
    )
    .unwrap();
    let (ok, out, err) = kboot(&["entries", "--root", root, "--cmdline", ""]);
    assert!(ok, "{err}");
    assert_eq!(
        err,
        "kboot: warning: the default entry \"Windows Boot Manager\" cannot be booted by kboot: \
         chainloader (another boot loader); the default is \"Debian GNU/Linux\" instead\n"
    );
    assert!(out.starts_with("1)*Debian GNU/Linux\n"), "{out}");
}

/// `kernel=` with `kboot.module=` on the command line: Xen with its modules in order,
/// the words kboot does not consume as Xen's command line.
#[test]
fn entries_with_kernel_and_kboot_module_on_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let boot = tmp.path().join("boot");
    fs::create_dir_all(&boot).unwrap();
    for f in [
        "xen.gz",
        "vmlinuz-6.1.0-13-amd64",
        "initrd.img-6.1.0-13-amd64",
    ] {
        fs::write(boot.join(f), f).unwrap();
    }
    let root = tmp.path().to_str().unwrap();
    let cmdline = "kernel=/boot/xen.gz \
        kboot.module=\"/boot/vmlinuz-6.1.0-13-amd64 root=/dev/vda1 console=hvc0\" \
        kboot.module=/boot/initrd.img-6.1.0-13-amd64 dom0=pvh dom0_mem=1024M";
    let (ok, out, err) = kboot(&["entries", "--root", root, "--cmdline", cmdline]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "1)*/boot/xen.gz (from the command line)\n   \
         kernel  /boot/xen.gz (multiboot)\n   \
         module  /boot/vmlinuz-6.1.0-13-amd64 args \"root=/dev/vda1 console=hvc0\"\n   \
         module  /boot/initrd.img-6.1.0-13-amd64\n   \
         cmdline \"dom0=pvh dom0_mem=1024M\"\n   \
         source  cmdline\n"
    );
    let (ok, _, err) = kboot(&[
        "entries",
        "--root",
        root,
        "--cmdline",
        "kernel=/boot/xen.gz kboot.module=/boot/initrd-typo",
    ]);
    assert!(!ok);
    assert!(
        err.contains("kboot.module=/boot/initrd-typo not found"),
        "{err}"
    );
}

/// An x86_64 ELF vmlinux in miniature: one PT_LOAD (16 MiB physical, a page of file,
/// two of memory) and a PT_NOTE with one Xen note of `note_type` (18 is
/// XEN_ELFNOTE_PHYS32_ENTRY, the PVH entry) holding 0x1000010.
fn synthetic_vmlinux(note_type: u32) -> Vec<u8> {
    let mut f = vec![0u8; 0x2000];
    let mut put = |at: usize, bytes: &[u8]| f[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, b"\x7fELF\x02\x01\x01");
    put(16, &2u16.to_le_bytes()); // ET_EXEC
    put(18, &62u16.to_le_bytes()); // x86_64
    put(20, &1u32.to_le_bytes());
    put(24, &0x100_0000u64.to_le_bytes()); // e_entry
    put(32, &64u64.to_le_bytes()); // e_phoff
    for (at, half) in [(52, 64u16), (54, 56), (56, 2)] {
        put(at, &half.to_le_bytes());
    }
    // PT_LOAD: type, flags, offset, vaddr, paddr, filesz, memsz, align.
    let load: [u64; 6] = [
        0x1000,
        0xffff_ffff_8100_0000,
        0x100_0000,
        0x1000,
        0x2000,
        0x1000,
    ];
    put(64, &1u32.to_le_bytes());
    put(68, &5u32.to_le_bytes());
    for (i, v) in load.iter().enumerate() {
        put(72 + 8 * i, &v.to_le_bytes());
    }
    let note: Vec<u8> = [4u32, 4, note_type]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .chain(*b"Xen\0")
        .chain(0x100_0010u32.to_le_bytes())
        .collect();
    put(120, &4u32.to_le_bytes()); // PT_NOTE
    for (i, v) in [0x200u64, 0, 0, note.len() as u64, note.len() as u64, 4]
        .iter()
        .enumerate()
    {
        put(128 + 8 * i, &v.to_le_bytes());
    }
    put(0x200, &note);
    f
}

#[test]
fn kexec_dry_run_of_type_pvh_prints_the_start_info() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("vmlinux");
    fs::write(&kernel, synthetic_vmlinux(18)).unwrap();
    let initrd = dir.path().join("initrd.img");
    fs::write(&initrd, vec![2u8; 10_000]).unwrap();
    let (ok, out, err) = kboot(&[
        "kexec",
        "-l",
        kernel.to_str().unwrap(),
        "--type",
        "pvh",
        "--initrd",
        initrd.to_str().unwrap(),
        "--append=console=hvc0 quiet",
        "--dry-run",
        "--memmap-root",
        QEMU_MEMMAP,
    ]);
    assert!(ok, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["loader"], "PVH");
    assert_eq!(plan["regs"]["mode"], "protected32");
    assert_eq!(plan["regs"]["eip"], "0x1000010");
    assert_eq!(plan["regs"]["eax"], "0x0");
    let info = &plan["pvh_start_info"];
    assert_eq!(plan["regs"]["ebx"], info["start_info_paddr"]);
    assert_eq!(info["magic"], "0x336ec578");
    assert_eq!(info["version"], 1);
    assert_eq!(info["flags"], 0);
    assert_eq!(info["entry"], "0x1000010");
    assert_eq!(info["cmdline"], "console=hvc0 quiet");
    assert_eq!(info["modules"].as_array().unwrap().len(), 1);
    assert_eq!(info["modules"][0]["size"], "0x2710");
    assert_eq!(info["memmap"].as_array().unwrap().len(), 7);
    assert_eq!(info["memmap"][0]["type"], 1);
    let segments = plan["segments"].as_array().unwrap();
    let roles: Vec<&str> = segments
        .iter()
        .map(|s| s["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["kernel", "ramdisk", "boot-params", "purgatory"]);
    assert_eq!(segments[0]["mem"], "0x1000000");
    assert_eq!(segments[0]["memsz"], "0x2000");
    assert_eq!(info["modules"][0]["paddr"], segments[1]["mem"]);
    assert_eq!(info["start_info_paddr"], segments[2]["mem"]);
    let hex = |v: &serde_json::Value| u64::from_str_radix(&v.as_str().unwrap()[2..], 16).unwrap();
    for s in segments {
        assert!(hex(&s["mem"]) >= 0x10_0000, "{s}");
        assert!(hex(&s["mem"]) + hex(&s["memsz"]) <= 1 << 32, "{s}");
    }
}

#[test]
fn kexec_type_pvh_refuses_a_kernel_without_a_pvh_entry_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("vmlinux");
    fs::write(&kernel, synthetic_vmlinux(17)).unwrap();
    let path = kernel.to_str().unwrap();
    let (ok, out, err) = kboot(&[
        "kexec",
        "-l",
        path,
        "--type=pvh",
        "--dry-run",
        "--memmap-root",
        QEMU_MEMMAP,
    ]);
    assert!(!ok);
    assert!(out.is_empty(), "{out}");
    assert_eq!(
        err,
        format!(
            "kboot kexec: cannot lay out {path} for kexec_load: the kernel has no PVH entry \
             (no Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY): it was built without CONFIG_PVH; \
             boot a kernel built with it, or boot this one without the pvh type\n"
        )
    );
    // Without --type the same file boots through the Linux protocol's 64-bit entry.
    let (ok, out, err) = kboot(&[
        "kexec",
        "-l",
        path,
        "--dry-run",
        "--memmap-root",
        QEMU_MEMMAP,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("\"loader\": \"ELF\""), "{out}");
}

fn kboot_status(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kboot"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn xen_soft_reset_help_prints_its_usage_and_exits_0() {
    for flag in ["--help", "-h"] {
        let (code, out, err) = kboot_status(&["xen-soft-reset", flag]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.starts_with("usage:\nkboot xen-soft-reset DOMAIN [--once]"),
            "{out}"
        );
        assert!(out.contains("on_soft_reset = \"preserve\""), "{out}");
    }
    let (_, out, _) = kboot_status(&["--help"]);
    assert!(out.contains("kboot xen-soft-reset DOMAIN"), "{out}");
}

#[test]
fn xen_soft_reset_without_a_domain_or_with_an_unknown_option_exits_1_with_usage() {
    for (args, message) in [
        (&["xen-soft-reset"][..], "missing DOMAIN"),
        (
            &["xen-soft-reset", "--bogus", "guest"][..],
            "unknown option --bogus",
        ),
        (&["xen-soft-reset", "a", "b"][..], "one DOMAIN only"),
    ] {
        let (code, out, err) = kboot_status(args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(
            err.starts_with(&format!("kboot xen-soft-reset: {message}")),
            "{err}"
        );
        assert!(err.contains("usage:\nkboot xen-soft-reset DOMAIN"), "{err}");
    }
}

#[test]
fn xen_soft_reset_outside_a_xen_dom0_says_so_in_one_line_and_exits_1() {
    if Path::new("/dev/xen/privcmd").exists() {
        eprintln!("skipped: this machine has /dev/xen/privcmd");
        return;
    }
    let (code, out, err) = kboot_status(&["xen-soft-reset", "guest"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("kboot: cannot open /dev/xen/privcmd: No such file or directory"),
        "{err}"
    );
    assert!(err.contains("Xen dom0"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
