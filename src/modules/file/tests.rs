use super::*;

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
