use super::entry::strip_device;
use super::*;
use crate::select::{EntryModule, KernelKind};
use std::fs;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
const ROOT_UUID: &str = "4b424f4f-0005-4000-8000-000000000001";
const FEDORA_MID: &str = "2d6a0e5f3c1e4d0b9e8f7a6b5c4d3e2f";
const DEBIAN_KERNELS: [&str; 2] = ["6.1.0-13-amd64", "6.1.0-9-amd64"];

/// A tree of files: `(path in the tree, contents)`.
fn tree(files: &[(String, Vec<u8>)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (path, contents) in files {
        let p = tmp.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, contents).unwrap();
    }
    tmp
}

fn data(path: &str) -> Vec<u8> {
    fs::read(format!("{DATA}/{path}")).unwrap()
}

/// Debian's kernels and ramdisks under `dir` ("boot/" on root, "" on a boot fs).
fn debian_kernels(dir: &str) -> Vec<(String, Vec<u8>)> {
    DEBIAN_KERNELS
        .iter()
        .flat_map(|v| {
            [
                (format!("{dir}vmlinuz-{v}"), b"k".to_vec()),
                (format!("{dir}initrd.img-{v}"), b"i".to_vec()),
            ]
        })
        .collect()
}

/// Every file of the Fedora /boot partition, under `dir`.
fn fedora_boot(dir: &str) -> Vec<(String, Vec<u8>)> {
    walkdir::WalkDir::new(format!("{DATA}/bls/fedora39"))
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(format!("{DATA}/bls/fedora39"))
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (format!("{dir}{rel}"), fs::read(e.path()).unwrap())
        })
        .collect()
}

fn request<'a>(root: &'a Path, boot: Option<&'a Path>) -> ScanRequest<'a> {
    ScanRequest::for_trees(root, boot, "root=LABEL=kboot console=ttyS0")
}

/// What the menu shows of an entry.
#[derive(Debug, PartialEq, Eq)]
struct Shown {
    title: String,
    kernel: String,
    ramdisks: Vec<String>,
    cmdline: String,
    source: Source,
}

fn shown(c: &Collected) -> Vec<Shown> {
    c.entries
        .iter()
        .map(|e| Shown {
            title: e.title.clone(),
            kernel: e.kernel.clone(),
            ramdisks: e.ramdisks.clone(),
            cmdline: e.cmdline.clone(),
            source: e.source,
        })
        .collect()
}

fn entry(title: &str, kernel: &str, ramdisks: &[&str], cmdline: &str, source: Source) -> Shown {
    Shown {
        title: title.into(),
        kernel: kernel.into(),
        ramdisks: ramdisks.iter().map(|r| r.to_string()).collect(),
        cmdline: cmdline.into(),
        source,
    }
}

/// The five entries Debian's grub-mkconfig writes for two kernels, then the two
/// scanned kernels (their command line is kboot's, so they are not duplicates).
/// `linux` and `default` are GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT (with
/// a leading space); 10_linux leaves the latter out of recovery entries.
fn debian_expected(os: &str, dir: &str, linux: &str, default: &str) -> Vec<Shown> {
    let cmd = |more: &str| {
        if more.is_empty() {
            format!("root=UUID={ROOT_UUID} ro{linux}{default}")
        } else {
            format!("root=UUID={ROOT_UUID} ro{more}{linux}")
        }
    };
    let grub = |title: String, v: &str, more: &str| {
        entry(
            &title,
            &format!("{dir}/vmlinuz-{v}"),
            &[&format!("{dir}/initrd.img-{v}")],
            &cmd(more),
            Source::Grub,
        )
    };
    let mut expected = vec![grub(os.to_string(), DEBIAN_KERNELS[0], "")];
    for v in DEBIAN_KERNELS {
        expected.push(grub(format!("{os}, with Linux {v}"), v, ""));
        expected.push(grub(
            format!("{os}, with Linux {v} (recovery mode)"),
            v,
            " single",
        ));
    }
    for v in DEBIAN_KERNELS {
        expected.push(entry(
            &format!("Linux {v}"),
            &format!("{dir}/vmlinuz-{v}"),
            &[&format!("{dir}/initrd.img-{v}")],
            "root=LABEL=kboot console=ttyS0",
            Source::Scan,
        ));
    }
    expected
}

#[test]
fn debian_boot_on_root() {
    let mut files = debian_kernels("boot/");
    files.push((
        "boot/grub/grub.cfg".into(),
        data("grub/debian-boot-on-root.cfg"),
    ));
    let root = tree(&files);
    let got = collect(&request(root.path(), None)).unwrap();
    assert_eq!(shown(&got), debian_expected("GNU/Linux", "/boot", "", ""));
    assert_eq!(got.default_index, 0);
    assert_eq!(got.timeout_secs, Some(5));
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    assert!(got.entries.iter().all(|e| e.missing.is_empty()));
    assert_eq!(got.entries[0].fs_root, root.path());
    assert_eq!(
        got.entries[0].id.as_deref(),
        Some(format!("gnulinux-simple-{ROOT_UUID}").as_str())
    );
}

#[test]
fn debian_separate_boot_paths_are_on_the_boot_filesystem() {
    let root = tree(&[("etc/hostname".into(), b"h".to_vec())]);
    let mut files = debian_kernels("");
    files.push((
        "grub/grub.cfg".into(),
        data("grub/debian-separate-boot.cfg"),
    ));
    let boot = tree(&files);
    let got = collect(&request(root.path(), Some(boot.path()))).unwrap();
    assert_eq!(shown(&got), debian_expected("GNU/Linux", "", "", ""));
    assert!(got.entries.iter().all(|e| e.fs_root == boot.path()));
    assert!(got.entries.iter().all(|e| e.missing.is_empty()));
}

#[test]
fn debian_saved_default_from_grubenv() {
    let mut files = debian_kernels("boot/");
    files.push((
        "boot/grub/grub.cfg".into(),
        data("grub/debian-saved-default.cfg"),
    ));
    files.push(("boot/grub/grubenv".into(), data("grub/debian-grubenv")));
    let root = tree(&files);
    let got = collect(&request(root.path(), None)).unwrap();
    let expected = debian_expected(
        "Debian GNU/Linux",
        "/boot",
        " console=ttyS0 console=tty0",
        " quiet",
    );
    assert_eq!(shown(&got)[..5], expected[..5]);
    // saved_entry names "Advanced options>…6.1.0-9-amd64"; next_entry=1 is ignored.
    assert_eq!(got.default_index, 3);
    assert_eq!(
        got.entries[3].title,
        "Debian GNU/Linux, with Linux 6.1.0-9-amd64"
    );
    assert_eq!(got.timeout_secs, Some(3));
}

fn fedora_expected(dir: &str) -> Vec<Shown> {
    let opts = "root=UUID=4b424f4f-0005-4000-8000-0000000000f1 ro rootflags=subvol=root rhgb quiet";
    let bls = |v: &str, more: &str| {
        entry(
            &format!("Fedora Linux ({v}) 39 (Thirty Nine)"),
            &format!("{dir}/vmlinuz-{v}"),
            &[&format!("{dir}/initramfs-{v}.img")],
            &format!("{opts}{more} console=ttyS0"),
            Source::Bls,
        )
    };
    let scan = |v: &str| {
        entry(
            &format!("Linux {v}"),
            &format!("{dir}/vmlinuz-{v}"),
            &[&format!("{dir}/initramfs-{v}.img")],
            "root=LABEL=kboot console=ttyS0",
            Source::Scan,
        )
    };
    vec![
        bls("6.5.6-300.fc39.x86_64", ""),
        // `$tuned_params` from grubenv; `$tuned_initrd` is empty there.
        bls("6.5.5-200.fc39.x86_64", " skew_tick=1 nohz=on"),
        bls(&format!("0-rescue-{FEDORA_MID}"), ""),
        scan("6.5.6-300.fc39.x86_64"),
        scan("6.5.5-200.fc39.x86_64"),
    ]
}

#[test]
fn fedora_boot_partition_blscfg_and_saved_entry() {
    let root = tree(&[("etc/fedora-release".into(), b"39".to_vec())]);
    let boot = tree(&fedora_boot(""));
    let mut req = request(root.path(), Some(boot.path()));
    req.append = Some("console=ttyS0");
    let got = collect(&req).unwrap();
    assert_eq!(shown(&got), fedora_expected(""));
    assert_eq!(got.default_index, 1);
    assert_eq!(
        got.entries[1].id.as_deref(),
        Some(format!("{FEDORA_MID}-6.5.5-200.fc39.x86_64").as_str())
    );
    assert_eq!(got.timeout_secs, Some(5));
    // The rescue kernel is not there: listed, flagged.
    let rescue = &got.entries[2];
    assert!(rescue.kernel_missing());
    assert_eq!(rescue.missing, [format!("/vmlinuz-0-rescue-{FEDORA_MID}")]);
    assert!(got.entries.iter().filter(|e| !e.missing.is_empty()).count() == 1);
}

/// The same files with /boot on root: the entries' `/vmlinuz-…` paths are found
/// under /boot.
#[test]
fn fedora_boot_on_root_finds_kernels_under_boot() {
    let root = tree(&fedora_boot("boot/"));
    let mut req = request(root.path(), None);
    req.append = Some("console=ttyS0");
    let got = collect(&req).unwrap();
    assert_eq!(shown(&got), fedora_expected("/boot"));
    assert_eq!(got.default_index, 1);
    assert!(got.entries[..2].iter().all(|e| e.missing.is_empty()));
}

#[test]
fn bls_alone_uses_loader_conf_and_keeps_unexpanded_variables() {
    let conf = |body: &str| body.as_bytes().to_vec();
    let root = tree(&[
        ("boot/vmlinuz-1".into(), b"k".to_vec()),
        ("boot/vmlinuz-2".into(), b"k".to_vec()),
        ("boot/ucode.img".into(), b"u".to_vec()),
        ("boot/initrd-1".into(), b"i".to_vec()),
        ("boot/initrd-2".into(), b"i".to_vec()),
        (
            "boot/loader/entries/os-1.conf".into(),
            conf("title One\nversion 1\nlinux /vmlinuz-1\ninitrd /ucode.img\ninitrd /initrd-1\noptions $kernelopts\noptions ro\n"),
        ),
        (
            "boot/loader/entries/os-2.conf".into(),
            conf("title Two\nversion 2\nlinux /vmlinuz-2\ninitrd /initrd-2\noptions root=/dev/vda\n"),
        ),
        (
            "boot/loader/entries/arm.conf".into(),
            conf("title Arm\nlinux /Image\narchitecture aa64\n"),
        ),
        (
            "boot/loader/entries/pinned.conf".into(),
            conf("title Pinned\nsort-key aaa\nlinux /vmlinuz-1\noptions root=/dev/vdb\n"),
        ),
        ("boot/loader/entries/broken.conf".into(), conf("title No linux\n")),
        ("boot/loader/loader.conf".into(), conf("default os-1*\ntimeout 7\n")),
    ]);
    let got = collect(&request(root.path(), None)).unwrap();
    let titles: Vec<&str> = got.entries.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(titles, ["Pinned", "Two", "One", "Linux 2", "Linux 1"]);
    assert_eq!(got.default_index, 2);
    assert_eq!(got.timeout_secs, Some(7));
    let one = &got.entries[2];
    assert_eq!(one.kernel, "/boot/vmlinuz-1");
    assert_eq!(one.ramdisks, ["/boot/ucode.img", "/boot/initrd-1"]);
    assert_eq!(one.ramdisks_shown(), "/boot/ucode.img,/boot/initrd-1");
    // No grubenv: no GRUB reads these, so `$kernelopts` stays as written.
    assert_eq!(one.cmdline, "$kernelopts ro");
    assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
    assert!(got.warnings[0].to_string().contains("broken.conf"));
}

#[test]
fn same_kernel_ramdisk_and_options_is_one_entry_first_source_wins() {
    let cfg = "set default=1\n\
               menuentry 'Mine' { linux /boot/vmlinuz-6.1 root=LABEL=kboot console=ttyS0 }\n\
               menuentry 'Other' { linux /boot/vmlinuz-6.1 single }\n";
    let root = tree(&[
        ("boot/vmlinuz-6.1".into(), b"k".to_vec()),
        ("boot/grub/grub.cfg".into(), cfg.as_bytes().to_vec()),
    ]);
    let got = collect(&request(root.path(), None)).unwrap();
    let sources: Vec<(&str, Source)> = got
        .entries
        .iter()
        .map(|e| (e.title.as_str(), e.source))
        .collect();
    assert_eq!(sources, [("Mine", Source::Grub), ("Other", Source::Grub)]);
    assert_eq!(got.default_index, 1);
}

#[test]
fn command_line_kernel_is_alone_even_with_configs() {
    let mut files = debian_kernels("boot/");
    files.push((
        "boot/grub/grub.cfg".into(),
        data("grub/debian-boot-on-root.cfg"),
    ));
    let root = tree(&files);
    let mut req = request(root.path(), None);
    req.kernel = Some("/boot/vmlinuz-6.1.0-9-amd64");
    let got = collect(&req).unwrap();
    assert_eq!(got.entries.len(), 1);
    assert_eq!(got.entries[0].source, Source::Cmdline);
    assert_eq!(got.entries[0].cmdline, "root=LABEL=kboot console=ttyS0");
}

#[test]
fn broken_grub_cfg_is_a_warning_and_the_scan_still_boots() {
    let root = tree(&[
        ("boot/vmlinuz-6.1".into(), b"k".to_vec()),
        ("boot/grub/grub.cfg".into(), b"menuentry 'x {\n".to_vec()),
    ]);
    let got = collect(&request(root.path(), None)).unwrap();
    assert_eq!(got.entries.len(), 1);
    assert_eq!(got.entries[0].source, Source::Scan);
    assert!(matches!(
        &got.warnings[..],
        [ConfigWarning::Grub {
            source: GrubError::UnclosedQuote { line: 1 },
            ..
        }]
    ));
}

#[test]
fn device_prefixes_are_dropped_from_paths() {
    assert_eq!(strip_device("(hd0,gpt2)/vmlinuz"), "/vmlinuz");
    assert_eq!(strip_device("()/vmlinuz"), "/vmlinuz");
    assert_eq!(strip_device("/boot/vmlinuz"), "/boot/vmlinuz");
    assert_eq!(strip_device("vmlinuz"), "/vmlinuz");
}

fn boot_entry_for(kernel: &str, cmdline: &str, source: Source) -> BootEntry {
    BootEntry {
        title: kernel.into(),
        id: None,
        version: None,
        fs_root: PathBuf::from("/fs"),
        kernel: kernel.into(),
        ramdisks: vec![format!("{kernel}.img")],
        cmdline: cmdline.into(),
        source,
        missing: Vec::new(),
        kind: KernelKind::Linux,
        modules: Vec::new(),
        cannot_boot: None,
    }
}

/// De-duplication was quadratic (40,000 entries: 2.8 s in a release build, 348,000:
/// minutes); a hash map makes 40,000 a blink. Same rules as before: the first
/// source wins, the same entry twice in one source stays twice, and the default
/// follows its entry.
#[test]
fn forty_thousand_entries_deduplicate_in_one_pass() {
    let n = 20_000;
    let mut entries: Vec<BootEntry> = (0..n)
        .map(|i| boot_entry_for(&format!("/vmlinuz-{i}"), "ro", Source::Grub))
        .collect();
    entries.extend((0..n).map(|i| boot_entry_for(&format!("/vmlinuz-{i}"), "ro", Source::Scan)));
    // The default is the scanned copy of kernel 7: it becomes grub's kernel 7.
    let (kept, default) = dedup(entries, n + 7);
    assert_eq!(kept.len(), n);
    assert!(kept.iter().all(|e| e.source == Source::Grub));
    assert_eq!(default, 7);

    let same = |source| boot_entry_for("/vmlinuz", "ro", source);
    let entries = vec![
        same(Source::Grub),
        same(Source::Grub),
        boot_entry_for("/vmlinuz", "single", Source::Scan),
        same(Source::Bls),
        same(Source::Scan),
    ];
    let (kept, default) = dedup(entries, 4);
    let sources: Vec<Source> = kept.iter().map(|e| e.source).collect();
    assert_eq!(sources, [Source::Grub, Source::Grub, Source::Scan]);
    assert_eq!(default, 0);
}

/// A grub.cfg with more entries than the limit: the first `MAX_ENTRIES` are listed,
/// and a warning names the file and the line of the first one left out.
#[test]
fn grub_cfg_past_the_entry_limit_lists_the_first_entries_and_warns() {
    let limit = grub::MAX_ENTRIES;
    let cfg: String = (0..limit + 3)
        .map(|i| format!("menuentry e{i} {{ linux /vmlinuz-{i} }}\n"))
        .collect();
    let root = tree(&[("boot/grub/grub.cfg".into(), cfg.into_bytes())]);
    let got = collect(&request(root.path(), None)).unwrap();
    assert_eq!(got.entries.len(), limit);
    assert_eq!(
        got.entries[limit - 1].kernel,
        format!("/vmlinuz-{}", limit - 1)
    );
    let [ConfigWarning::GrubCut { path, source }] = &got.warnings[..] else {
        panic!("{:?}", got.warnings)
    };
    assert!(path.ends_with("boot/grub/grub.cfg"));
    assert_eq!(
        source,
        &GrubError::TooManyEntries {
            line: limit + 1,
            limit
        }
    );
}

/// Each `blscfg` repeats every BLS entry: past the limit they are left out.
#[test]
fn blscfg_repeated_cannot_multiply_entries_past_the_limit() {
    let mut files: Vec<(String, Vec<u8>)> = (0..100)
        .map(|i| {
            (
                format!("boot/loader/entries/e{i}.conf"),
                format!("linux /vmlinuz-{i}\n").into_bytes(),
            )
        })
        .collect();
    files.push((
        "boot/grub2/grub.cfg".into(),
        "blscfg\n".repeat(1_000).into_bytes(),
    ));
    let root = tree(&files);
    let got = collect(&request(root.path(), None)).unwrap();
    // 100 distinct entries, each listed once: the copies from later `blscfg`s are
    // the same source, kept, but the list stops at the limit.
    assert_eq!(got.entries.len(), grub::MAX_ENTRIES);
    assert!(got.warnings.iter().any(|w| matches!(
        w,
        ConfigWarning::TooManyBls {
            count: 100_000,
            limit: 10_000,
            ..
        }
    )));
}

/// Debian's Xen grub.cfg on a root holding Xen, the kernels and ramdisks: the Xen
/// entries come after the Linux ones, each Xen with the dom0 kernel then its ramdisk
/// (found on root like the kernel), `kboot.append` on Xen's own command line, and the
/// version of the dom0 kernel.
#[test]
fn debian_xen_entries_carry_their_modules() {
    let mut files = vec![
        (
            "boot/grub/grub.cfg".to_string(),
            data("grub/debian-xen.cfg"),
        ),
        ("boot/xen-4.17-amd64.gz".to_string(), b"x".to_vec()),
    ];
    files.extend(debian_kernels("boot/"));
    let t = tree(&files);
    let mut req = request(t.path(), None);
    req.append = Some("loglvl=all");
    let c = collect(&req).unwrap();
    let xen: Vec<&BootEntry> = c.entries.iter().filter(|e| !e.kind.is_linux()).collect();
    let titles: Vec<&str> = xen.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Debian GNU/Linux, with Xen hypervisor",
            "Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-13-amd64",
            "Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-13-amd64 (recovery mode)",
            "Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-9-amd64",
            "Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-9-amd64 (recovery mode)",
        ]
    );
    // They follow 10_linux's five entries, before the scanned kernels.
    assert_eq!(c.entries[5].title, titles[0]);
    assert_eq!(c.default_index, 0);
    let top = xen[0];
    assert_eq!(top.kind, KernelKind::Multiboot2);
    assert_eq!(top.kernel, "/boot/xen-4.17-amd64.gz");
    assert_eq!(
        top.cmdline,
        "placeholder dom0=pvh iommu=1 console=com1 com1=115200,8n1 dom0_mem=1024M loglvl=all"
    );
    assert_eq!(top.version.as_deref(), Some("6.1.0-13-amd64"));
    assert!(top.missing.is_empty());
    assert!(top.ramdisks.is_empty());
    let modules: Vec<String> = top.modules.iter().map(EntryModule::cmdline).collect();
    assert_eq!(
        modules,
        [
            format!(
                "/boot/vmlinuz-6.1.0-13-amd64 placeholder root=UUID={ROOT_UUID} ro console=hvc0 quiet"
            ),
            "/boot/initrd.img-6.1.0-13-amd64".to_string(),
        ]
    );
    assert_eq!(
        top.module_files()[1].0,
        t.path().join("boot/initrd.img-6.1.0-13-amd64")
    );
    // A module that is not there is missing, as a ramdisk would be.
    fs::remove_file(t.path().join("boot/initrd.img-6.1.0-9-amd64")).unwrap();
    let c = collect(&req).unwrap();
    let nine = c
        .entries
        .iter()
        .find(|e| e.title == "Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-9-amd64")
        .unwrap();
    assert_eq!(nine.missing, ["/boot/initrd.img-6.1.0-9-amd64"]);
}

/// A grub.cfg whose default is an entry kboot cannot boot: the entry is listed,
/// marked, and the default is the first entry kboot can boot, with a warning saying so.
#[test]
fn a_default_kboot_cannot_boot_falls_back_to_the_first_bootable_entry() {
    let cfg = "set default=1\n\
        menuentry 'Firmware' { fwsetup }\n\
        menuentry 'Windows' { chainloader /EFI/Microsoft/Boot/bootmgfw.efi }\n\
        menuentry 'Debian' { linux /boot/vmlinuz-6.1.0-13-amd64 ro }\n";
    let mut files = vec![("boot/grub/grub.cfg".to_string(), cfg.as_bytes().to_vec())];
    files.extend(debian_kernels("boot/"));
    let t = tree(&files);
    let mut req = request(t.path(), None);
    req.append = Some("quiet");
    let c = collect(&req).unwrap();
    let marked: Vec<(&str, Option<&str>, &str)> = c
        .entries
        .iter()
        .take(3)
        .map(|e| {
            (
                e.title.as_str(),
                e.cannot_boot.as_deref(),
                e.cmdline.as_str(),
            )
        })
        .collect();
    assert_eq!(
        marked,
        [
            (
                "Firmware",
                Some("fwsetup (the firmware's setup screen)"),
                ""
            ),
            ("Windows", Some("chainloader (another boot loader)"), ""),
            ("Debian", None, "ro quiet"),
        ]
    );
    assert!(c.entries[..2]
        .iter()
        .all(|e| e.missing.is_empty() && e.kernel.is_empty()));
    assert_eq!(c.default_index, 2);
    let said: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        said,
        [
            "the default entry \"Windows\" cannot be booted by kboot: chainloader (another boot \
          loader); the default is \"Debian\" instead"
        ]
    );
}
