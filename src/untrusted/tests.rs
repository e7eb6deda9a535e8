use super::*;
use std::os::unix::fs::symlink;

fn refused(error: &io::Error) -> &Refused {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Refused>())
        .unwrap_or_else(|| panic!("not refused: {error}"))
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRWXU).unwrap();
}

#[test]
fn a_fifo_is_refused_at_once_instead_of_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("grub.cfg");
    mkfifo(&fifo);
    let error = read(&fifo, GRUB_CFG).unwrap_err();
    assert!(matches!(
        refused(&error),
        Refused::NotAFile { kind: "a FIFO", .. }
    ));
    assert_eq!(error.to_string(), "it is a FIFO, not a regular file");
    let error = open(&fifo, Accept::RegularFileOrBlockDevice).unwrap_err();
    assert_eq!(
        error.to_string(),
        "it is a FIFO, not a regular file or block device"
    );
}

#[test]
fn a_directory_is_refused_as_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let error = open(dir.path(), Accept::RegularFileOrBlockDevice).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::IsADirectory);
    assert_eq!(
        error.to_string(),
        "it is a directory, not a regular file or block device"
    );
}

#[test]
fn dev_zero_is_refused_as_a_character_device_before_any_read() {
    let error = read(Path::new("/dev/zero"), KERNEL).unwrap_err();
    assert_eq!(
        error.to_string(),
        "it is a character device, not a regular file"
    );
}

#[test]
fn a_sparse_file_over_the_limit_is_refused_by_its_size_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vmlinuz-big");
    File::create(&path)
        .unwrap()
        .set_len(KERNEL.max_bytes + 1)
        .unwrap();
    let error = read(&path, KERNEL).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
    assert_eq!(
        error.to_string(),
        "it is 536870913 bytes, more than the 536870912 bytes a kernel file may be"
    );
}

#[test]
fn a_read_stops_one_byte_past_the_limit() {
    let limit = Limit {
        what: "a test file",
        max_bytes: 4,
    };
    assert_eq!(read_at_most(&b"four"[..], limit).unwrap(), b"four");
    let error = read_at_most(io::repeat(0), limit).unwrap_err();
    assert!(matches!(
        refused(&error),
        Refused::GrewTooLarge { max_bytes: 4, .. }
    ));
}

#[test]
fn files_within_the_limit_read_as_fs_read_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loader.conf");
    fs::write(&path, "default fedora-*\n").unwrap();
    assert_eq!(read(&path, LOADER_CONF).unwrap(), b"default fedora-*\n");
    assert_eq!(
        read_to_string(&path, LOADER_CONF).unwrap(),
        "default fedora-*\n"
    );
    let missing = read(&dir.path().join("nosuch"), LOADER_CONF).unwrap_err();
    assert_eq!(missing.kind(), io::ErrorKind::NotFound);
}

#[test]
fn dot_dot_stops_at_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert_eq!(
        resolve_in_root(root, Path::new("/../../../../etc/hostname")).unwrap(),
        root.join("etc/hostname")
    );
    assert_eq!(
        resolve_in_root(root, Path::new("/boot/./grub/../vmlinuz")).unwrap(),
        root.join("boot/vmlinuz")
    );
}

#[test]
fn absolute_symlinks_start_at_the_root_and_relative_ones_cannot_climb_out() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    fs::create_dir_all(root.join("real")).unwrap();
    fs::write(root.join("real/vmlinuz-1"), b"k").unwrap();
    // `/boot` -> `/`: the tree's own root, never the host's.
    symlink("/", root.join("boot")).unwrap();
    assert_eq!(
        resolve_in_root(&root, Path::new("/boot/real/vmlinuz-1")).unwrap(),
        root.join("real/vmlinuz-1")
    );
    symlink("../../../../../..", root.join("up")).unwrap();
    assert_eq!(
        resolve_in_root(&root, Path::new("/up/real")).unwrap(),
        root.join("real")
    );
    symlink("/real/vmlinuz-1", root.join("vmlinuz")).unwrap();
    assert_eq!(
        resolve_in_root(&root, Path::new("/vmlinuz")).unwrap(),
        root.join("real/vmlinuz-1")
    );
}

#[test]
fn a_symlink_loop_is_an_error_after_40_links() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    symlink("b", root.join("a")).unwrap();
    symlink("/a", root.join("b")).unwrap();
    let error = resolve_in_root(root, Path::new("/a")).unwrap_err();
    assert!(matches!(refused(&error), Refused::SymlinkLoop));
    assert_eq!(
        error.to_string(),
        "more than 40 symbolic links to follow (a symlink loop?)"
    );
    // 40 links in a row are still followed, as Linux follows them.
    for hop in 0..40 {
        symlink(format!("l{}", hop + 1), root.join(format!("l{hop}"))).unwrap();
    }
    fs::write(root.join("l40"), b"end").unwrap();
    assert_eq!(
        resolve_in_root(root, Path::new("l0")).unwrap(),
        root.join("l40")
    );
}
