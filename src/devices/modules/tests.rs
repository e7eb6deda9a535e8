use super::*;

const DEP: &str = "\
kernel/drivers/md/raid1.ko: kernel/drivers/md/md-mod.ko
kernel/drivers/md/md-mod.ko:
kernel/fs/btrfs/btrfs.ko: kernel/lib/raid6/raid6_pq.ko kernel/crypto/xor.ko kernel/lib/libcrc32c.ko
kernel/lib/raid6/raid6_pq.ko:
kernel/crypto/xor.ko:
kernel/lib/libcrc32c.ko:
kernel/arch/x86/crypto/crc32c-intel.ko.xz:
kernel/drivers/block/virtio_blk.ko:
";
const ALIAS: &str = "\
# Aliases extracted from modules themselves.
alias md-personality-3 raid1
alias md-raid1 raid1
alias fs-btrfs btrfs
alias crypto-crc32c crc32c-intel
alias virtio:d00000002v* virtio_blk
alias pci:v00001AF4d*sv*sd*bc01sc00i* virtio_blk
";
const SOFTDEP: &str = "softdep btrfs pre: crypto-crc32c sha256\n";
const BUILTIN: &str = "kernel/fs/ext4/ext4.ko\nkernel/lib/crc16.ko\n";

fn index() -> ModuleIndex {
    ModuleIndex::from_tables(
        Path::new("/lib/modules/test"),
        &ModuleTables {
            modules_dep: DEP,
            modules_alias: ALIAS,
            modules_softdep: SOFTDEP,
            modules_builtin: BUILTIN,
            modules_builtin_modinfo: b"ext4.alias=fs-ext4\0ext4.license=GPL\0",
        },
    )
    .unwrap()
}

fn names(modules: &[ModulePath]) -> Vec<&str> {
    modules.iter().map(|m| m.name.as_str()).collect()
}

#[test]
fn module_names_come_from_file_names_with_dashes_folded() {
    assert_eq!(
        module_name_from_path(Path::new("kernel/drivers/md/dm-mod.ko.xz")).as_deref(),
        Some("dm_mod")
    );
    assert_eq!(
        module_name_from_path(Path::new("a/b.ko.zst")).as_deref(),
        Some("b")
    );
    assert_eq!(
        module_name_from_path(Path::new("a/b.ko.gz")).as_deref(),
        Some("b")
    );
    assert_eq!(module_name_from_path(Path::new("a/b.o")), None);
    assert_eq!(module_name_from_path(Path::new("a/.ko")), None);
}

#[test]
fn table_lines_round_trip() {
    for line in [
        "kernel/a/b.ko: kernel/c.ko kernel/d.ko",
        "kernel/a/b.ko:",
        "alias pci:v*d*sv*sd*bc01sc08i02* nvme",
        "softdep btrfs pre: crypto-crc32c sha256 post: xor",
        "softdep x post: y",
    ] {
        let shown = if line.starts_with("alias") {
            line.parse::<AliasLine>().unwrap().to_string()
        } else if line.starts_with("softdep") {
            line.parse::<SoftdepLine>().unwrap().to_string()
        } else {
            line.parse::<DepLine>().unwrap().to_string()
        };
        assert_eq!(shown, line);
    }
}

#[test]
fn softdep_names_before_pre_or_post_are_ignored_like_kmod() {
    let line: SoftdepLine = "softdep cifs gcm".parse().unwrap();
    assert_eq!(line.softdep, Softdep::default());
    let line: SoftdepLine = "softdep x junk pre: a".parse().unwrap();
    assert_eq!(line.softdep.pre, ["a"]);
}

#[test]
fn bad_dep_line_is_an_error_with_its_line_number() {
    let error = parse_modules_dep("a.ko:\nno colon here\n").unwrap_err();
    assert!(
        matches!(
            error,
            ModulesError::BadLine {
                file: "modules.dep",
                line_number: 2,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn resolve_puts_dependencies_first_and_each_module_once() {
    let order = index().resolve(&["raid1", "md-mod", "raid1"]).unwrap();
    assert_eq!(names(&order), ["md_mod", "raid1"]);
    assert_eq!(
        order[0].relative_path,
        Path::new("kernel/drivers/md/md-mod.ko")
    );
}

#[test]
fn resolve_follows_soft_dependencies_through_aliases_and_skips_unknown_ones() {
    let order = index().resolve(&["btrfs"]).unwrap();
    // crypto-crc32c is an alias for crc32c_intel; sha256 is unknown and skipped.
    assert_eq!(
        names(&order),
        ["crc32c_intel", "raid6_pq", "xor", "libcrc32c", "btrfs"]
    );
}

#[test]
fn resolve_accepts_aliases_and_treats_builtins_as_loaded() {
    let index = index();
    assert_eq!(
        names(&index.resolve(&["md-raid1"]).unwrap()),
        ["md_mod", "raid1"]
    );
    assert!(index
        .resolve(&["ext4", "fs-ext4", "crc16"])
        .unwrap()
        .is_empty());
}

#[test]
fn resolve_names_an_unknown_module() {
    let error = index().resolve(&["virtio_blk", "nosuch"]).unwrap_err();
    assert!(
        matches!(&error, ModulesError::UnknownModule { name, .. } if name == "nosuch"),
        "{error:?}"
    );
}

#[test]
fn resolve_reports_a_cycle_by_its_members() {
    let index = ModuleIndex::from_tables(
        Path::new("/m"),
        &ModuleTables {
            modules_dep: "a.ko: b.ko\nb.ko: c.ko\nc.ko: a.ko\n",
            ..ModuleTables::default()
        },
    )
    .unwrap();
    let error = index.resolve(&["a"]).unwrap_err();
    match error {
        ModulesError::DependencyCycle { cycle } => assert_eq!(cycle, ["a", "b", "c", "a"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn fnmatch_follows_fnmatch_rules() {
    assert!(fnmatch(
        "pci:v00001AF4d*sv*",
        "pci:v00001AF4d00001001sv00001AF4"
    ));
    assert!(fnmatch("a?c", "abc"));
    assert!(!fnmatch("a?c", "ac"));
    assert!(fnmatch("*", ""));
    assert!(fnmatch("a*b*c", "a/x/b/y/c"));
    assert!(!fnmatch("a*b*c", "a/x/b/y/d"));
    assert!(fnmatch("x[0-9A-F]y", "xBy"));
    assert!(!fnmatch("x[!0-9]y", "x5y"));
    assert!(fnmatch("x[^0-9]y", "xay"));
    assert!(fnmatch("x[]]y", "x]y"));
    assert!(fnmatch("a\\*", "a*"));
    assert!(!fnmatch("a\\*", "ab"));
    assert!(fnmatch("a[b", "a[b"));
    assert!(!fnmatch("abc", "abcd"));
}

#[test]
fn aliases_matching_finds_modules_for_a_modalias() {
    let index = index();
    assert_eq!(
        index.aliases_matching("pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00"),
        ["virtio_blk"]
    );
    assert_eq!(
        index.aliases_matching("virtio:d00000002v00001AF4"),
        ["virtio_blk"]
    );
    assert!(index.aliases_matching("pci:v00008086d00001234").is_empty());
}

#[test]
fn modinfo_section_fields_are_split_on_nul() {
    let info = parse_modinfo_section(
        b"license=GPL\0depends=md-mod,,libcrc32c\0alias=md-raid1\0alias=md-level-1\0\
              softdep=pre: crc32c\0softdep=post: xor\0name=raid1\0\0\0",
    );
    assert_eq!(info.name.as_deref(), Some("raid1"));
    assert_eq!(info.depends, ["md_mod", "libcrc32c"]);
    assert_eq!(info.aliases, ["md-raid1", "md-level-1"]);
    assert_eq!(info.softdep.pre, ["crc32c"]);
    assert_eq!(info.softdep.post, ["xor"]);
}

#[test]
fn read_modinfo_finds_the_section_in_an_elf_made_by_cc() {
    let dir = tempfile::tempdir().unwrap();
    fake_modules::write_fake_module(
        dir.path(),
        "x.ko",
        &["alias=fs-x", "depends=a-b,c", "softdep=pre: d", "name=x"],
    );
    let path = dir.path().join("x.ko");
    let info = read_modinfo(&path, &std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(info.name.as_deref(), Some("x"));
    assert_eq!(info.depends, ["a_b", "c"]);
    assert_eq!(info.aliases, ["fs-x"]);
    assert_eq!(info.softdep.pre, ["d"]);
}

#[test]
fn read_modinfo_rejects_a_non_elf_file() {
    let error = read_modinfo(Path::new("x.ko"), b"not an elf file at all").unwrap_err();
    assert!(matches!(error, ModulesError::Elf { .. }), "{error:?}");
}

#[test]
fn load_without_modules_dep_scans_modinfo() {
    let dir = tempfile::tempdir().unwrap();
    fake_modules::write_fake_tree(dir.path());
    let index = ModuleIndex::load(dir.path()).unwrap();
    assert_eq!(
        names(
            &index
                .resolve(&["raid1", "virtio_blk", "btrfs", "fs-ext4"])
                .unwrap()
        ),
        [
            "md_mod",
            "raid1",
            "virtio",
            "virtio_blk",
            "crc32c_intel",
            "libcrc32c",
            "btrfs"
        ]
    );
    assert_eq!(
        index.aliases_matching("virtio:d00000002v00001AF4"),
        ["virtio_blk"]
    );
    assert!(index.is_builtin("ext4"));
}

#[test]
fn load_with_modules_dep_uses_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    fake_modules::write_fake_tree(dir.path());
    let scanned = ModuleIndex::load(dir.path()).unwrap();
    let all: Vec<&str> = scanned.module_names().collect();
    let order = scanned.resolve(&all).unwrap();
    std::fs::write(
        dir.path().join("modules.dep"),
        scanned.modules_dep_text(&order),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("modules.alias"),
        scanned.modules_alias_text(&order),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("modules.softdep"),
        scanned.modules_softdep_text(&order),
    )
    .unwrap();
    // Table mode must not need the module files at all.
    std::fs::remove_dir_all(dir.path().join("kernel")).unwrap();
    let from_tables = ModuleIndex::load(dir.path()).unwrap();
    assert_eq!(names(&from_tables.resolve(&all).unwrap()), names(&order));
    assert_eq!(
        from_tables.modules_alias_text(&order),
        scanned.modules_alias_text(&order)
    );
}

#[test]
fn generated_tables_cover_only_included_modules() {
    let index = index();
    let order = index.resolve(&["raid1"]).unwrap();
    assert_eq!(
        index.modules_dep_text(&order),
        "kernel/drivers/md/md-mod.ko:\nkernel/drivers/md/raid1.ko: kernel/drivers/md/md-mod.ko\n"
    );
    assert_eq!(
        index.modules_alias_text(&order),
        "alias md-personality-3 raid1\nalias md-raid1 raid1\n"
    );
    let btrfs = index.resolve(&["btrfs"]).unwrap();
    assert_eq!(
        index.modules_softdep_text(&btrfs),
        "softdep btrfs pre: crypto-crc32c sha256\n"
    );
}
