//! Small busybox initramfs archives for the tests that drive kboot's `kexec` command
//! from a shell inside a guest (tests/e2e_pvh.rs, tests/e2e_kexec32.rs), and what
//! those guests print.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::cache_dir;

/// Runs `script` with `sh -c`; a failure fails the test.
pub(crate) fn run_shell(script: &str) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{script} failed ({status})");
}

/// The work directory of one test under the cache, emptied.
pub(crate) fn work_dir(name: &str) -> PathBuf {
    let work = cache_dir().join("work").join(name);
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).unwrap();
    work
}

/// A busybox tree under `work/name` with `/init` = `init` and `files` (path in the
/// tree, source), packed as an uncompressed newc archive `work/name.cpio`; returns its
/// path.
pub(crate) fn busybox_initramfs(
    work: &Path,
    name: &str,
    init: &str,
    files: &[(&str, &Path)],
) -> PathBuf {
    let tree = work.join(name);
    for dir in ["bin", "proc", "sys", "dev", "k"] {
        fs::create_dir_all(tree.join(dir)).unwrap();
    }
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "/bin/busybox is missing: apt-get install busybox-static (tests/setup-debian.sh)"
    );
    fs::copy(busybox, tree.join("bin/busybox")).unwrap();
    symlink("busybox", tree.join("bin/sh")).unwrap();
    for (path, source) in files {
        fs::copy(source, tree.join(path)).unwrap();
    }
    let init_path = tree.join("init");
    fs::write(&init_path, init).unwrap();
    fs::set_permissions(&init_path, fs::Permissions::from_mode(0o755)).unwrap();
    let archive = work.join(format!("{name}.cpio"));
    run_shell(&format!(
        "cd '{}' && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 > '{}'",
        tree.display(),
        archive.display()
    ));
    archive
}

/// The JSON `kboot kexec --dry-run --json` printed between `=== PLAN BEGIN` and
/// `=== PLAN END` in the transcript.
pub(crate) fn plan_from(transcript: &str) -> serde_json::Value {
    let begin = transcript.find("=== PLAN BEGIN").expect("no plan");
    let end = transcript[begin..]
        .find("=== PLAN END")
        .expect("no plan end")
        + begin;
    let text = &transcript[begin..end];
    let json = &text[text.find('{').expect("no JSON")..=text.rfind('}').expect("no JSON")];
    serde_json::from_str(&json.replace('\r', "")).unwrap()
}
