use super::*;

fn parse(line: &str) -> Cmdline {
    line.parse().unwrap()
}

#[test]
fn splits_words_like_the_kernel() {
    let (words, rest) = split("  a b=c  d=\"e f\" \"g h\" i=\"j\"k ");
    let pairs: Vec<(&str, Option<&str>)> = words
        .iter()
        .map(|w| (w.param.as_str(), w.value.as_deref()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("a", None),
            ("b", Some("c")),
            ("d", Some("e f")),
            ("g h", None),
            ("i", Some("j\"k"))
        ]
    );
    assert_eq!(words[2].raw, "d=\"e f\"");
    assert_eq!(rest, None);
}

#[test]
fn keeps_arguments_after_double_dash_for_init() {
    let c = parse("root=/dev/vda1 -- single  emergency");
    assert_eq!(c.init_args.as_deref(), Some("single  emergency"));
    assert_eq!(c.target_cmdline(), "root=/dev/vda1 -- single  emergency");
}

#[test]
fn reads_kboot_and_root_options() {
    let c = parse(
        "root=UUID=1234 boot=LABEL=b kernel=/vmlinuz ramdisk=/initrd rootfstype=ext4,xfs \
         rootflags=data=journal rootwait rootdelay=5 rw init=/bin/sh console=tty0 \
         console=ttyS0,115200 kboot.timeout=3 kboot.default=2 kboot.kexec=load \
         kboot.append=\"quiet splash\" kboot.debug",
    );
    assert_eq!(c.root, Some(DeviceSpec::Uuid("1234".into())));
    assert_eq!(c.boot, Some(DeviceSpec::Label("b".into())));
    assert_eq!(c.kernel.as_deref(), Some("/vmlinuz"));
    assert_eq!(c.ramdisk.as_deref(), Some("/initrd"));
    assert_eq!(c.rootfstype, vec!["ext4", "xfs"]);
    assert_eq!(c.rootflags.as_deref(), Some("data=journal"));
    assert!(c.rootwait && c.read_write && c.debug);
    assert_eq!(c.rootdelay_secs, Some(5));
    assert_eq!(c.init.as_deref(), Some("/bin/sh"));
    assert_eq!(c.consoles, vec!["tty0", "ttyS0,115200"]);
    assert_eq!(c.timeout_secs, Some(3));
    assert_eq!(c.default_entry.as_deref(), Some("2"));
    assert_eq!(c.kexec, KexecMethod::Load);
    assert_eq!(c.append.as_deref(), Some("quiet splash"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn target_cmdline_drops_kboot_words_and_appends() {
    let c = parse(
        "console=ttyS0 root=LABEL=r boot=PARTUUID=ab-01 kernel=/k ramdisk=/r \
         kboot.timeout=0 kboot.append=\"quiet a=1\" foo=\"x y\" ro",
    );
    assert_eq!(
        c.target_cmdline(),
        "console=ttyS0 root=LABEL=r foo=\"x y\" ro quiet a=1"
    );
}

#[test]
fn unknown_options_are_kept_for_the_target() {
    let c = parse("nomodeset  mitigations=off");
    assert_eq!(c.target_cmdline(), "nomodeset mitigations=off");
}

#[test]
fn bad_values_become_warnings_not_failures() {
    let c = parse("rootdelay=soon kboot.kexec=maybe kboot.colour=red root=UUID=");
    assert_eq!(c.rootdelay_secs, None);
    assert_eq!(c.kexec, KexecMethod::Auto);
    assert_eq!(c.root, None);
    assert_eq!(c.warnings.len(), 4, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("rootdelay=soon"));
    // The kernel's own options stay for the target even when kboot could not use them.
    assert_eq!(c.target_cmdline(), "rootdelay=soon root=UUID=");
}

#[test]
fn ro_after_rw_wins() {
    assert!(!parse("rw ro").read_write);
}

#[test]
fn kboot_lock_locks_the_console_and_stays_out_of_the_target_command_line() {
    assert!(!parse("root=/dev/vda1").lock);
    for on in [
        "kboot.lock",
        "kboot.lock=1",
        "kboot.lock=yes",
        "kboot.lock=on",
    ] {
        let c = parse(&format!("root=/dev/vda1 {on} quiet"));
        assert!(c.lock, "{on}");
        assert!(c.warnings.is_empty(), "{on}: {:?}", c.warnings);
        assert_eq!(c.target_cmdline(), "root=/dev/vda1 quiet");
    }
    assert!(!parse("kboot.lock=0").lock);
    assert!(
        !parse("kboot.lock kboot.lock=off").lock,
        "the last word wins"
    );
}

#[test]
fn an_unreadable_kboot_lock_value_locks_anyway_with_a_warning() {
    let c = parse("kboot.lock=maybe");
    assert!(c.lock);
    assert_eq!(
        c.warnings,
        vec!["kboot.lock=maybe: expected no value, 1 or 0; locked anyway".to_string()]
    );
}

/// `kboot.module=` repeats, in order; a quoted value keeps its spaces (the kernel
/// leaves the quotes in /proc/cmdline) and loses its quotes; none reaches the target.
#[test]
fn kboot_module_is_repeatable_and_quoted_values_keep_their_arguments() {
    let c = parse(
        "kernel=/boot/xen.gz kboot.module=\"/boot/vmlinuz-6.1.0-13-amd64 root=/dev/vda1 \
         console=hvc0\" kboot.module=/boot/initrd.img-6.1.0-13-amd64 dom0=pvh dom0_mem=1024M",
    );
    assert_eq!(c.kernel.as_deref(), Some("/boot/xen.gz"));
    assert_eq!(
        c.modules,
        [
            "/boot/vmlinuz-6.1.0-13-amd64 root=/dev/vda1 console=hvc0",
            "/boot/initrd.img-6.1.0-13-amd64"
        ]
    );
    // Xen's own command line: what kboot did not consume.
    assert_eq!(c.target_cmdline(), "dom0=pvh dom0_mem=1024M");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn kboot_module_without_a_kernel_is_ignored_with_a_warning() {
    let c = parse("root=/dev/vda1 kboot.module=/boot/vmlinuz");
    assert_eq!(c.modules, ["/boot/vmlinuz"]);
    assert_eq!(c.target_cmdline(), "root=/dev/vda1");
    assert_eq!(c.warnings.len(), 1);
    assert!(c.warnings[0].contains("kboot.module= without kernel="));
}
