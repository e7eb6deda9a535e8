//! Fake modules for tests: real ELF relocatables made by `cc -c`, holding only a
//! `.modinfo` section, the way modpost lays it out.

use std::path::Path;
use std::process::Command;

/// Writes `root/relative_path` (a `.ko`) with the given `key=value` fields.
pub(crate) fn write_fake_module(root: &Path, relative_path: &str, fields: &[&str]) {
    let target = root.join(relative_path);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    let source = target.with_extension("c");
    let mut text = String::new();
    for (index, field) in fields.iter().enumerate() {
        text.push_str(&format!(
            "static const char field{index}[] __attribute__((used, section(\".modinfo\"), aligned(1))) = \"{field}\";\n"
        ));
    }
    std::fs::write(&source, text).unwrap();
    let status = Command::new("cc")
        .args(["-c", "-o"])
        .arg(&target)
        .arg(&source)
        .status()
        .unwrap();
    assert!(status.success(), "cc failed for {relative_path}");
    std::fs::remove_file(&source).unwrap();
}

/// A small tree shaped like Debian's: no modules.dep, a modules.builtin.
pub(crate) fn write_fake_tree(root: &Path) {
    write_fake_module(
        root,
        "kernel/drivers/md/md-mod.ko",
        &["license=GPL", "depends=", "name=md_mod"],
    );
    write_fake_module(
        root,
        "kernel/drivers/md/raid1.ko",
        &[
            "alias=md-personality-3",
            "alias=md-raid1",
            "depends=md-mod",
            "name=raid1",
        ],
    );
    write_fake_module(
        root,
        "kernel/drivers/block/virtio_blk.ko",
        &[
            "alias=virtio:d00000002v*",
            "depends=virtio",
            "name=virtio_blk",
        ],
    );
    write_fake_module(
        root,
        "kernel/drivers/virtio/virtio.ko",
        &["depends=", "name=virtio"],
    );
    write_fake_module(
        root,
        "kernel/fs/btrfs/btrfs.ko",
        &[
            "softdep=pre: crypto-crc32c",
            "alias=fs-btrfs",
            "depends=libcrc32c",
            "name=btrfs",
        ],
    );
    write_fake_module(
        root,
        "kernel/lib/libcrc32c.ko",
        &["depends=", "name=libcrc32c"],
    );
    write_fake_module(
        root,
        "kernel/arch/x86/crypto/crc32c-intel.ko",
        &["alias=crypto-crc32c", "depends=", "name=crc32c_intel"],
    );
    std::fs::write(root.join("modules.builtin"), "kernel/fs/ext4/ext4.ko\n").unwrap();
    std::fs::write(
        root.join("modules.builtin.modinfo"),
        b"ext4.alias=fs-ext4\0",
    )
    .unwrap();
}
