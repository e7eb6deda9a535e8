use super::*;

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[test]
fn kexec_tools_spellings_parse() {
    let o = parse(&args(&[
        "-l",
        "/boot/vmlinuz",
        "--initrd=/boot/initrd.img",
        "--append",
        "root=/dev/vda1 ro",
        "-c",
        "--dry-run",
    ]))
    .unwrap();
    assert_eq!(o.action, Some(Action::Load));
    assert_eq!(o.kernel, Some(PathBuf::from("/boot/vmlinuz")));
    assert_eq!(o.initrds, [PathBuf::from("/boot/initrd.img")]);
    assert_eq!(o.command_line.as_deref(), Some("root=/dev/vda1 ro"));
    assert_eq!(o.method, KexecMethod::Load);
    assert!(o.dry_run);

    let o = parse(&args(&["/boot/vmlinuz", "--command-line=quiet", "-s"])).unwrap();
    assert_eq!(o.action, Some(Action::Load));
    assert_eq!(o.method, KexecMethod::File);
    assert_eq!(parse(&args(&["-e"])).unwrap().action, Some(Action::Exec));
    assert!(matches!(
        parse(&args(&["-e", "-u"])),
        Err(KexecCliError::Usage(_))
    ));
    assert!(matches!(
        parse(&args(&["--frob"])),
        Err(KexecCliError::Usage(_))
    ));
    assert!(matches!(
        parse(&args(&["--initrd"])),
        Err(KexecCliError::Usage(_))
    ));
}

#[test]
fn reuse_cmdline_drops_boot_image_and_crashkernel() {
    assert_eq!(
        reused_cmdline("BOOT_IMAGE=/vmlinuz root=/dev/vda1 crashkernel=256M ro\n"),
        "root=/dev/vda1 ro"
    );
}

#[test]
fn type_and_module_options_parse_as_kexec_tools_means_them() {
    let o = parse(&args(&[
        "-l",
        "/boot/xen.gz",
        "--type=multiboot-x86",
        "--module",
        "/boot/vmlinuz-6.1 root=/dev/vda1 ro",
        "--module=/boot/initrd.img-6.1",
    ]))
    .unwrap();
    assert_eq!(o.loader_type.as_deref(), Some("multiboot-x86"));
    assert_eq!(
        o.modules,
        [
            BootModule {
                file: PathBuf::from("/boot/vmlinuz-6.1"),
                cmdline: "/boot/vmlinuz-6.1 root=/dev/vda1 ro".into()
            },
            BootModule {
                file: PathBuf::from("/boot/initrd.img-6.1"),
                cmdline: "/boot/initrd.img-6.1".into()
            }
        ]
    );
    let o = parse(&args(&["-t", "multiboot2-x86", "/boot/xen"])).unwrap();
    assert_eq!(o.loader_type.as_deref(), Some("multiboot2-x86"));
    let Err(KexecCliError::Usage(message)) = parse(&args(&["--type=xen", "/boot/xen"])) else {
        panic!("an unknown type was taken");
    };
    assert!(
        message.contains("multiboot2-x86, multiboot-x86, elf-x86_64"),
        "{message}"
    );
    assert!(matches!(
        parse(&args(&["--module= ", "/boot/xen"])),
        Err(KexecCliError::Usage(_))
    ));
}

#[test]
fn entry_32bit_is_a_load_option() {
    let o = parse(&args(&["-c", "-l", "/k/vmlinuz", "--entry-32bit"])).unwrap();
    assert!(o.entry_32bit);
    assert!(!parse(&args(&["-l", "/k/vmlinuz"])).unwrap().entry_32bit);
}
