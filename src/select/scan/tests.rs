use super::*;

fn tree(files: &[&str]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for f in files {
        let p = tmp.path().join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, f.as_bytes()).unwrap();
    }
    tmp
}

fn request<'a>(root: &'a Path, boot: Option<&'a Path>) -> ScanRequest<'a> {
    ScanRequest::for_trees(root, boot, "root=LABEL=r")
}

#[test]
fn kernel_versions_from_names() {
    assert_eq!(
        kernel_version("vmlinuz-6.1.0-9-amd64"),
        Some("6.1.0-9-amd64")
    );
    assert_eq!(kernel_version("vmlinux-6.2"), Some("6.2"));
    assert_eq!(kernel_version("bzImage"), Some(""));
    assert_eq!(kernel_version("bzImage-6.3"), Some("6.3"));
    assert_eq!(kernel_version("initrd.img-6.1"), None);
    assert_eq!(
        kernel_version("vmlinux-6.1.0-9-amd64.gz"),
        Some("6.1.0-9-amd64")
    );
    assert_eq!(kernel_version("vmlinux-6.2.xz"), Some("6.2"));
}

#[test]
fn newest_first_with_matching_ramdisks() {
    let t = tree(&[
        "boot/vmlinuz-6.1.0-9-cloud-amd64",
        "boot/initrd.img-6.1.0-9-cloud-amd64",
        "boot/vmlinuz-6.1.0-56-cloud-amd64",
        "boot/initrd.img-6.1.0-56-cloud-amd64",
        "boot/vmlinuz-5.14.0-1.el9",
        "boot/initramfs-5.14.0-1.el9.img",
        "boot/vmlinuz-4.0",
        "boot/initrd-4.0.img",
        "boot/vmlinuz-3.0",
        "boot/initrd-3.0",
        "boot/vmlinuz-2.6-noramdisk",
        "boot/vmlinuz-6.1.0-56-cloud-amd64.old",
        "boot/config-6.1.0-56-cloud-amd64",
    ]);
    let entries = find_entries(&request(t.path(), None)).unwrap();
    let got: Vec<(&str, Option<&str>)> = entries
        .iter()
        .map(|e| (e.kernel.as_str(), e.ramdisks.first().map(String::as_str)))
        .collect();
    assert!(entries.iter().all(|e| e.ramdisks.len() <= 1));
    assert_eq!(
        got,
        vec![
            (
                "/boot/vmlinuz-6.1.0-56-cloud-amd64",
                Some("/boot/initrd.img-6.1.0-56-cloud-amd64")
            ),
            (
                "/boot/vmlinuz-6.1.0-9-cloud-amd64",
                Some("/boot/initrd.img-6.1.0-9-cloud-amd64")
            ),
            (
                "/boot/vmlinuz-5.14.0-1.el9",
                Some("/boot/initramfs-5.14.0-1.el9.img")
            ),
            ("/boot/vmlinuz-4.0", Some("/boot/initrd-4.0.img")),
            ("/boot/vmlinuz-3.0", Some("/boot/initrd-3.0")),
            ("/boot/vmlinuz-2.6-noramdisk", None),
        ]
    );
    assert_eq!(entries[0].cmdline, "root=LABEL=r");
    assert_eq!(entries[0].source, Source::Scan);
    assert_eq!(
        entries[0].kernel_path(),
        t.path().join("boot/vmlinuz-6.1.0-56-cloud-amd64")
    );
}

#[test]
fn separate_boot_filesystem_holds_kernels_at_its_top() {
    let root = tree(&["etc/hostname", "boot/.keep"]);
    let boot = tree(&["vmlinuz-6.1", "initrd.img-6.1"]);
    let entries = find_entries(&request(root.path(), Some(boot.path()))).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].kernel, "/vmlinuz-6.1");
    assert_eq!(entries[0].ramdisks, ["/initrd.img-6.1"]);
    assert_eq!(entries[0].fs_root, boot.path());
}

#[test]
fn command_line_kernel_is_the_only_entry() {
    let t = tree(&[
        "boot/vmlinuz-6.1",
        "boot/vmlinuz-6.2",
        "boot/initrd.img-6.1",
    ]);
    let mut req = request(t.path(), None);
    req.kernel = Some("boot/vmlinuz-6.1");
    req.ramdisk = Some("/boot/initrd.img-6.1");
    let entries = find_entries(&req).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].kernel, "/boot/vmlinuz-6.1");
    assert_eq!(entries[0].ramdisks, ["/boot/initrd.img-6.1"]);
    assert_eq!(entries[0].source, Source::Cmdline);
}

#[test]
fn missing_files_are_named() {
    let t = tree(&["boot/vmlinuz-6.1"]);
    let mut req = request(t.path(), None);
    req.kernel = Some("/boot/vmlinuz-typo");
    assert!(
        matches!(find_entries(&req), Err(ScanError::KernelMissing { path, .. }) if path == "/boot/vmlinuz-typo")
    );
    req.kernel = Some("/boot/vmlinuz-6.1");
    req.ramdisk = Some("/boot/initrd-nope");
    assert!(
        matches!(find_entries(&req), Err(ScanError::RamdiskMissing { path, .. }) if path == "/boot/initrd-nope")
    );
    let empty = tree(&["boot/grub/grub.cfg"]);
    assert!(matches!(
        find_entries(&request(empty.path(), None)),
        Err(ScanError::NoKernels { .. })
    ));
}

/// `kernel=` naming a symlink loop or a FIFO says so, instead of "not found" (or
/// waiting on the FIFO).
#[test]
fn a_cmdline_kernel_that_is_no_regular_file_says_what_it_is() {
    let t = tree(&["boot/vmlinuz-6.1"]);
    std::os::unix::fs::symlink("loop", t.path().join("boot/loop")).unwrap();
    nix::unistd::mkfifo(&t.path().join("boot/fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let mut req = request(t.path(), None);
    req.kernel = Some("/boot/loop");
    assert_eq!(
        find_entries(&req).unwrap_err().to_string(),
        "kernel=/boot/loop on the root filesystem cannot be read: more than 40 symbolic links to follow (a symlink loop?)"
    );
    req.kernel = Some("/boot/vmlinuz-6.1");
    req.ramdisk = Some("/boot/fifo");
    assert_eq!(
        find_entries(&req).unwrap_err().to_string(),
        "ramdisk=/boot/fifo on the root filesystem cannot be read: it is a FIFO, not a regular file"
    );
}

/// Files named like kernels that the scan leaves out are named in a warning: a
/// directory, a symlink loop, a name that is not UTF-8. A dangling symlink stays quiet.
#[test]
fn kernel_named_files_left_out_are_warned_about() {
    use std::os::unix::ffi::OsStrExt;
    let t = tree(&["boot/vmlinuz-6.1"]);
    let boot = t.path().join("boot");
    std::fs::create_dir(boot.join("vmlinuz-6.2")).unwrap();
    std::os::unix::fs::symlink("vmlinuz-6.3", boot.join("vmlinuz-6.3")).unwrap();
    std::os::unix::fs::symlink("nowhere", boot.join("vmlinuz-6.4")).unwrap();
    std::fs::write(
        boot.join(std::ffi::OsStr::from_bytes(b"vmlinuz-6.5\x1b[2J\xff")),
        b"k",
    )
    .unwrap();
    let mut warnings = Vec::new();
    let entries = find_entries_noting(&request(t.path(), None), &mut warnings).unwrap();
    assert_eq!(entries.len(), 1);
    let messages: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            format!(
                "{}: \"vmlinuz-6.5\\x1b[2J\\xff\" is left out: its name is not UTF-8; rename it to boot it",
                boot.display()
            ),
            format!(
                "{} is left out: it is a directory, not a regular file",
                boot.join("vmlinuz-6.2").display()
            ),
            format!(
                "{} is left out: more than 40 symbolic links to follow (a symlink loop?)",
                boot.join("vmlinuz-6.3").display()
            ),
        ]
    );
}

/// When the only kernel-named file is left out, the error says so and why, instead of
/// a bare "no kernel found".
#[test]
fn no_kernel_found_names_the_files_left_out() {
    use std::os::unix::ffi::OsStrExt;
    let t = tree(&["boot/config-6.1"]);
    let boot = t.path().join("boot");
    std::fs::write(
        boot.join(std::ffi::OsStr::from_bytes(b"vmlinuz-\xff\xfe")),
        b"k",
    )
    .unwrap();
    let mut warnings = Vec::new();
    let error = find_entries_noting(&request(t.path(), None), &mut warnings).unwrap_err();
    assert!(matches!(&error, ScanError::NoKernels { left_out, .. } if left_out.len() == 1));
    let text = error.to_string();
    assert!(
        text.contains(r#""vmlinuz-\xff\xfe" is left out: its name is not UTF-8"#)
            && text.ends_with("name one with kernel=PATH"),
        "{text}"
    );
}

/// `kernel=` with `kboot.module=`: a multiboot entry whose modules are each a file
/// (first word) and its arguments, in order; the version is the dom0 kernel's.
#[test]
fn command_line_kernel_with_modules_is_a_multiboot_entry() {
    let t = tree(&[
        "boot/xen-4.17-amd64.gz",
        "boot/vmlinuz-6.1.0-13-amd64",
        "boot/initrd.img-6.1.0-13-amd64",
    ]);
    let modules = [
        "/boot/vmlinuz-6.1.0-13-amd64 root=/dev/vda1  console=hvc0".to_string(),
        "boot/initrd.img-6.1.0-13-amd64".to_string(),
    ];
    let mut req = request(t.path(), None);
    req.kernel = Some("/boot/xen-4.17-amd64.gz");
    req.modules = &modules;
    let entries = find_entries(&req).unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e.kind, KernelKind::Multiboot);
    assert_eq!(e.kernel, "/boot/xen-4.17-amd64.gz");
    assert_eq!(
        e.modules,
        [
            EntryModule {
                path: "/boot/vmlinuz-6.1.0-13-amd64".into(),
                args: "root=/dev/vda1  console=hvc0".into(),
            },
            EntryModule {
                path: "/boot/initrd.img-6.1.0-13-amd64".into(),
                args: String::new(),
            },
        ]
    );
    assert_eq!(
        e.modules[0].cmdline(),
        "/boot/vmlinuz-6.1.0-13-amd64 root=/dev/vda1  console=hvc0"
    );
    assert_eq!(e.version.as_deref(), Some("6.1.0-13-amd64"));
    assert!(e.ramdisks.is_empty());
    assert_eq!(e.cmdline, "root=LABEL=r");
}

#[test]
fn a_missing_or_empty_command_line_module_is_an_error_naming_it() {
    let t = tree(&["boot/xen.gz", "boot/vmlinuz-6.1"]);
    let mut req = request(t.path(), None);
    req.kernel = Some("/boot/xen.gz");
    let typo = [
        "/boot/vmlinuz-6.1 ro".to_string(),
        "/boot/initrd-typo".to_string(),
    ];
    req.modules = &typo;
    assert!(
        matches!(find_entries(&req), Err(ScanError::ModuleMissing { path, .. }) if path == "/boot/initrd-typo")
    );
    let empty = ["  ".to_string()];
    req.modules = &empty;
    assert!(matches!(find_entries(&req), Err(ScanError::ModuleEmpty)));
}
