use super::*;

const FEDORA: &str = include_str!(
    "../../../tests/data/bls/fedora39/loader/entries/2d6a0e5f3c1e4d0b9e8f7a6b5c4d3e2f-6.5.6-300.fc39.x86_64.conf"
);

fn named(id: &str, text: &str) -> NamedEntry {
    NamedEntry {
        id: id.into(),
        entry: text.parse().unwrap(),
    }
}

#[test]
fn fedora_entry_keys() {
    let e: BlsEntry = FEDORA.parse().unwrap();
    assert_eq!(
        e.title.as_deref(),
        Some("Fedora Linux (6.5.6-300.fc39.x86_64) 39 (Thirty Nine)")
    );
    assert_eq!(e.version.as_deref(), Some("6.5.6-300.fc39.x86_64"));
    assert_eq!(e.linux.as_deref(), Some("/vmlinuz-6.5.6-300.fc39.x86_64"));
    assert_eq!(e.initrds, ["/initramfs-6.5.6-300.fc39.x86_64.img"]);
    assert_eq!(
        e.cmdline(),
        "root=UUID=4b424f4f-0005-4000-8000-0000000000f1 ro rootflags=subvol=root rhgb quiet"
    );
    assert!(e.other.contains(&("grub_class".into(), "fedora".into())));
    assert!(e.is_for_this_machine());
}

#[test]
fn entry_round_trips_through_display() {
    let e: BlsEntry = FEDORA.parse().unwrap();
    let again: BlsEntry = e.to_string().parse().unwrap();
    assert_eq!(again, e);
    let many: BlsEntry = "# comment\ntitle  T \nlinux /k\ninitrd /a\ninitrd /b\n\
                          options a=1\noptions  b c\narchitecture aa64\nsort-key s\n"
        .parse()
        .unwrap();
    assert_eq!(many.initrds, ["/a", "/b"]);
    assert_eq!(many.cmdline(), "a=1 b c");
    assert_eq!(many.title.as_deref(), Some("T"));
    assert!(!many.is_for_this_machine());
    assert_eq!(many.to_string().parse::<BlsEntry>().unwrap(), many);
}

#[test]
fn loader_conf_round_trip() {
    let c: LoaderConf = "# sd-boot\ndefault fedora-*\ntimeout 3\nconsole-mode max\n"
        .parse()
        .unwrap();
    assert_eq!(c.default.as_deref(), Some("fedora-*"));
    assert_eq!(c.timeout_secs, Some(3));
    assert_eq!(c.to_string().parse::<LoaderConf>().unwrap(), c);
    let forced: LoaderConf = "timeout menu-force".parse().unwrap();
    assert_eq!(forced.timeout_secs, Some(-1));
}

/// The specification's rules: sort-key entries first, by sort-key, machine-id, then
/// version descending; the rest by file name, version descending.
#[test]
fn spec_sort_order() {
    let mut list = [
        named("a-10", "version 10\nmachine-id dd23"),
        named("a-5", "version 5\nmachine-id dd23"),
        named("b", "version 3\nmachine-id b754"),
        named("c", "sort-key xxxx\nversion 5\nmachine-id 309d"),
        named("cx", "sort-key xxxx\nversion 10\nmachine-id 309d"),
        named("d", "sort-key kkkk\nversion 100\nmachine-id 81c6"),
        named("e", "sort-key xxxx\nversion 10\nmachine-id 0000"),
    ];
    list.sort_by(menu_order);
    let ids: Vec<&str> = list.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["d", "e", "cx", "c", "b", "a-10", "a-5"]);
}

#[test]
fn grubenv_variables_expand_and_unknown_ones_vanish() {
    let env = |name: &str| (name == "kernelopts").then(|| "root=/dev/vda ro".to_string());
    assert_eq!(
        expand_grubenv("$kernelopts ${tuned_params} quiet", env),
        "root=/dev/vda ro quiet"
    );
    assert_eq!(expand_grubenv("a $ b", env), "a $ b");
}

/// Entries and loader.conf are read as regular files of at most 64 KiB, through
/// symlinks that stay on their filesystem.
#[test]
fn entries_that_are_fifos_or_too_large_are_errors_beside_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let entries = root.join("loader/entries");
    std::fs::create_dir_all(&entries).unwrap();
    std::fs::write(entries.join("good.conf"), "linux /vmlinuz\n").unwrap();
    nix::unistd::mkfifo(&entries.join("fifo.conf"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    std::fs::File::create(entries.join("huge.conf"))
        .unwrap()
        .set_len(crate::untrusted::BLS_ENTRY.max_bytes + 1)
        .unwrap();
    std::os::unix::fs::symlink("/etc/os-release", entries.join("out.conf")).unwrap();
    let (found, errors) = read_dir_entries(root, "/loader/entries");
    assert_eq!(
        found.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["good"]
    );
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let fifo = entries.join("fifo.conf");
    let huge = entries.join("huge.conf");
    let out = entries.join("out.conf");
    assert_eq!(
        messages,
        [
            format!("cannot read {}: it is a FIFO, not a regular file", fifo.display()),
            format!(
                "cannot read {}: it is 65537 bytes, more than the 65536 bytes a boot loader entry may be",
                huge.display()
            ),
            // The symlink leads to the tree's own /etc/os-release, which is not there.
            format!("cannot read {}: No such file or directory (os error 2)", out.display()),
        ]
    );
    nix::unistd::mkfifo(
        &root.join("loader/loader.conf"),
        nix::sys::stat::Mode::S_IRWXU,
    )
    .unwrap();
    assert!(read_loader_conf(root, "/loader/loader.conf")
        .unwrap_err()
        .to_string()
        .ends_with("it is a FIFO, not a regular file"));
}
