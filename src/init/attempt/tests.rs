use super::*;
use crate::select::{EntryModule, KernelKind, Source};

fn xen_entry(fs_root: &Path) -> BootEntry {
    BootEntry {
        title: "Debian GNU/Linux, with Xen hypervisor".into(),
        id: None,
        version: Some("6.1.0-13-amd64".into()),
        fs_root: fs_root.to_path_buf(),
        kernel: "/boot/xen-4.17-amd64.gz".into(),
        kind: KernelKind::Multiboot2,
        ramdisks: Vec::new(),
        modules: vec![
            EntryModule {
                path: "/boot/vmlinuz-6.1.0-13-amd64".into(),
                args: "placeholder root=/dev/vda1 ro".into(),
            },
            EntryModule {
                path: "/boot/initrd.img-6.1.0-13-amd64".into(),
                args: String::new(),
            },
        ],
        cmdline: "placeholder dom0_mem=1024M".into(),
        source: Source::Grub,
        missing: Vec::new(),
        cannot_boot: None,
    }
}

/// A Xen entry's plan: Xen as the kernel with the (possibly edited) command line,
/// no ramdisk, the modules in order with the path first on each command line.
#[test]
fn a_xen_entry_boots_xen_with_its_modules_in_order() {
    let root = tempfile::tempdir().unwrap();
    let entry = xen_entry(root.path());
    let plan = kexec_plan(&entry, "placeholder dom0_mem=2048M");
    assert_eq!(plan.kernel, root.path().join("boot/xen-4.17-amd64.gz"));
    assert!(plan.ramdisks.is_empty());
    assert_eq!(plan.cmdline, "placeholder dom0_mem=2048M");
    assert_eq!(
        plan.modules,
        [
            BootModule {
                file: root.path().join("boot/vmlinuz-6.1.0-13-amd64"),
                cmdline: "/boot/vmlinuz-6.1.0-13-amd64 placeholder root=/dev/vda1 ro".into(),
            },
            BootModule {
                file: root.path().join("boot/initrd.img-6.1.0-13-amd64"),
                cmdline: "/boot/initrd.img-6.1.0-13-amd64".into(),
            },
        ]
    );
    assert_eq!(
        files_shown(&entry),
        "multiboot2 /boot/xen-4.17-amd64.gz \
         module \"/boot/vmlinuz-6.1.0-13-amd64 placeholder root=/dev/vda1 ro\" \
         module \"/boot/initrd.img-6.1.0-13-amd64\""
    );
}

/// A Linux entry is shown and planned as before: kernel, ramdisks, no modules.
#[test]
fn a_linux_entry_is_shown_as_kernel_and_initrd() {
    let root = tempfile::tempdir().unwrap();
    let entry = BootEntry {
        kind: KernelKind::Linux,
        kernel: "/boot/vmlinuz-6.1.0-13-amd64".into(),
        ramdisks: vec!["/boot/initrd.img-6.1.0-13-amd64".into()],
        modules: Vec::new(),
        ..xen_entry(root.path())
    };
    assert_eq!(
        files_shown(&entry),
        "/boot/vmlinuz-6.1.0-13-amd64 initrd /boot/initrd.img-6.1.0-13-amd64"
    );
    assert!(kexec_plan(&entry, "ro").modules.is_empty());
}

/// Xen entries differ only by their modules: a failure of one marks only that one,
/// and two entries that name no kernel are told apart by their titles.
#[test]
fn entry_keys_tell_xen_entries_and_kernel_less_entries_apart() {
    let root = tempfile::tempdir().unwrap();
    let a = xen_entry(root.path());
    let mut b = xen_entry(root.path());
    b.modules[0].path = "/boot/vmlinuz-6.1.0-9-amd64".into();
    assert_ne!(entry_key(&a), entry_key(&b));
    let chain = |title: &str| BootEntry {
        title: title.into(),
        kernel: String::new(),
        modules: Vec::new(),
        cannot_boot: Some("chainloader (another boot loader)".into()),
        ..xen_entry(root.path())
    };
    assert_ne!(entry_key(&chain("Windows")), entry_key(&chain("Tools")));
}

#[test]
fn choosing_an_entry_kboot_cannot_boot_says_why_in_one_line() {
    let e = BootError::CannotBoot {
        title: "Windows Boot Manager".into(),
        reason: "chainloader (another boot loader)".into(),
    };
    assert_eq!(
        e.to_string(),
        "Windows Boot Manager: cannot boot: chainloader (another boot loader); choose another entry"
    );
}

/// In a Xen PV guest nothing can be kexec'd: the boot fails at once with one line that
/// gives the remedy.
#[test]
fn in_a_xen_pv_guest_booting_fails_with_the_remedy_in_one_line() {
    let root = tempfile::tempdir().unwrap();
    let entry = xen_entry(root.path());
    let plan = kexec_plan(&entry, "ro");
    let err = plan_for_guest(
        plan,
        true,
        Hypervisor::Xen(XenGuestType::Pv),
        KexecMethod::Auto,
    )
    .unwrap_err();
    assert!(matches!(err, BootError::XenPvGuest));
    let line = err.to_string();
    assert_eq!(
        line,
        "kboot runs in a Xen PV guest, where kexec cannot work (Xen resets only HVM and PVH \
         guests for a kexec; this guest would be shut down): make it a PVH guest, \
         type=\"pvh\" in its xl configuration"
    );
    assert!(!line.contains('\n'));
}

/// In a PVH guest a Linux kernel is entered through its PVH entry; elsewhere, for
/// multiboot kernels and with kboot.kexec=file, the plan stays as it was.
#[test]
fn in_a_xen_pvh_guest_linux_kernels_boot_through_their_pvh_entry() {
    let root = tempfile::tempdir().unwrap();
    let linux = BootEntry {
        kind: KernelKind::Linux,
        modules: Vec::new(),
        ..xen_entry(root.path())
    };
    let pvh = Hypervisor::Xen(XenGuestType::Pvh);
    let plan_in = |entry: &BootEntry, hypervisor, method| {
        plan_for_guest(
            kexec_plan(entry, "ro"),
            entry.kind.is_linux(),
            hypervisor,
            method,
        )
        .unwrap()
        .loader_type
    };
    assert_eq!(
        plan_in(&linux, pvh, KexecMethod::Auto).as_deref(),
        Some("pvh")
    );
    assert_eq!(
        plan_in(&linux, pvh, KexecMethod::Load).as_deref(),
        Some("pvh")
    );
    assert_eq!(plan_in(&linux, pvh, KexecMethod::File), None);
    for elsewhere in [
        Hypervisor::NotXen,
        Hypervisor::Xen(XenGuestType::Hvm),
        Hypervisor::Xen(XenGuestType::Unknown),
    ] {
        assert_eq!(plan_in(&linux, elsewhere, KexecMethod::Auto), None);
    }
    let xen = xen_entry(root.path());
    assert_eq!(
        plan_in(&xen, pvh, KexecMethod::Auto).as_deref(),
        Some("multiboot2-x86")
    );
}
