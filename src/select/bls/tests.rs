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

/// The set that made `sort_by` panic ("comparison function does not correctly
/// implement a total order"): 21 entries with one `sort-key`, two with `version`.
fn same_sort_key_two_versions() -> Vec<NamedEntry> {
    let ids = [
        "63-0", "26-1", "49-2", "89-3", "75-4", "3-5", "48-6", "92-7", "63-8", "28-9", "2-10",
        "12-11", "15-12", "91-13", "64-14", "38-15", "64-16", "51-17", "99-18", "84-19", "66-20",
    ];
    ids.iter()
        .map(|id| {
            let version = match *id {
                "51-17" => "version 47\n",
                "84-19" => "version 28\n",
                _ => "",
            };
            named(id, &format!("linux /boot/vmlinuz-1\nsort-key k\n{version}"))
        })
        .collect()
}

#[test]
fn entries_with_and_without_version_under_one_sort_key_sort_without_panic() {
    let mut list = same_sort_key_two_versions();
    list.sort_by(menu_order);
    let ids: Vec<&str> = list.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "51-17", "84-19", "99-18", "92-7", "91-13", "89-3", "75-4", "66-20", "64-16", "64-14",
            "63-8", "63-0", "49-2", "48-6", "38-15", "28-9", "26-1", "15-12", "12-11", "3-5",
            "2-10"
        ]
    );
}

/// Every pair and triple of a mixed set (with and without sort-key, machine-id and
/// version) obeys a total order, and sorting any permutation gives one result.
#[test]
fn menu_order_is_a_total_order_whatever_the_input_order() {
    let mut list = same_sort_key_two_versions();
    for (i, text) in [
        "sort-key k\nmachine-id m1",
        "sort-key k\nmachine-id m1\nversion 3",
        "sort-key k\nmachine-id m0\nversion 9",
        "sort-key j",
        "sort-key l\nversion 1",
        "version 5",
        "machine-id m1",
        "",
    ]
    .iter()
    .enumerate()
    {
        list.push(named(&format!("x-{i}"), text));
    }
    for a in &list {
        assert_eq!(menu_order(a, a), Ordering::Equal);
        for b in &list {
            assert_eq!(menu_order(a, b), menu_order(b, a).reverse());
            for c in &list {
                if menu_order(a, b).is_le() && menu_order(b, c).is_le() {
                    assert!(menu_order(a, c).is_le(), "{} {} {}", a.id, b.id, c.id);
                }
            }
        }
    }
    let mut expected = list.clone();
    expected.sort_by(menu_order);
    // A small xorshift: a fixed seed keeps the test repeatable.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..200 {
        for i in (1..list.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let j = usize::try_from(state % (i as u64 + 1)).unwrap();
            list.swap(i, j);
        }
        let mut sorted = list.clone();
        sorted.sort_by(menu_order);
        assert_eq!(sorted, expected);
    }
}
