use super::*;
use crate::modules::fake_modules;
use crate::modules::ModulesError;

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
