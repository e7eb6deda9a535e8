use super::*;
use crate::modules::fake_modules;

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

/// Fedora and Ubuntu ship `.ko.xz` and `.ko.zst`: without modules.dep, their
/// `.modinfo` is read through the one decompressor.
#[test]
fn load_without_modules_dep_scans_xz_and_zstd_compressed_modules() {
    let dir = tempfile::tempdir().unwrap();
    fake_modules::write_fake_tree(dir.path());
    let raid1 = dir.path().join("kernel/drivers/md/raid1.ko");
    crate::modules::file::tests::compress_module(&raid1, "xz");
    let md_mod = dir.path().join("kernel/drivers/md/md-mod.ko");
    crate::modules::file::tests::compress_module(&md_mod, "zstd");
    let index = ModuleIndex::load(dir.path()).unwrap();
    let resolved = index.resolve(&["md-raid1"]).unwrap();
    assert_eq!(names(&resolved), ["md_mod", "raid1"]);
    let files: Vec<String> = resolved
        .iter()
        .map(|m| m.relative_path.display().to_string())
        .collect();
    assert_eq!(
        files,
        [
            "kernel/drivers/md/md-mod.ko.zst",
            "kernel/drivers/md/raid1.ko.xz"
        ]
    );
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
