use super::*;
use crate::select::{KernelKind, Source};
use std::path::PathBuf;

fn entry(version: &str) -> BootEntry {
    BootEntry {
        title: format!("Linux {version}"),
        id: None,
        version: Some(version.into()),
        fs_root: PathBuf::from("/mnt/root"),
        kernel: format!("/boot/vmlinuz-{version}"),
        ramdisks: Vec::new(),
        cmdline: String::new(),
        source: Source::Scan,
        missing: Vec::new(),
        kind: KernelKind::Linux,
        modules: Vec::new(),
        cannot_boot: None,
    }
}

#[test]
fn default_by_number_version_title_or_path() {
    let entries = [entry("6.2"), entry("6.1")];
    assert_eq!(default_index(&entries, None), Some(0));
    assert_eq!(default_index(&entries, Some("2")), Some(1));
    assert_eq!(default_index(&entries, Some("3")), None);
    assert_eq!(default_index(&entries, Some("6.1")), Some(1));
    assert_eq!(default_index(&entries, Some("Linux 6.2")), Some(0));
    assert_eq!(default_index(&entries, Some("/boot/vmlinuz-6.1")), Some(1));
    assert_eq!(default_index(&entries, Some("nope")), None);
    assert_eq!(default_index(&entries, Some("6.1*")), Some(1));
    assert_eq!(default_index(&entries, Some("Linux 6.?")), Some(0));
}
