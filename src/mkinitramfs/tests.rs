//! Tests of the mkinitramfs command, checked against GNU cpio and the kernel's own
//! gen_init_cpio (compiled from /usr/src/linux-source-6.1.tar.xz, which CI installs).

use super::*;
use crate::modules::fake_modules::write_fake_tree;
use std::process::Command;
use std::sync::OnceLock;

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| arg.to_string()).collect()
}

/// A fake `lib/modules/VERSION` tree plus a fake kboot binary, in a tempdir.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        write_fake_tree(&dir.path().join("lib/modules/6.1.0-test"));
        std::fs::write(dir.path().join("kboot"), b"\x7fELF pretend init\n").unwrap();
        Fixture { dir }
    }

    fn path(&self, relative: &str) -> String {
        self.dir
            .path()
            .join(relative)
            .to_string_lossy()
            .into_owned()
    }

    fn modules_dir(&self) -> String {
        self.path("lib/modules/6.1.0-test")
    }
}

#[test]
fn args_default_to_a_list_on_stdout() {
    assert_eq!(
        parse_args(&[]).unwrap(),
        Invocation::Build(Options {
            list_output: Some("-".into()),
            ..Options::default()
        })
    );
}

#[test]
fn args_accept_separate_attached_and_equals_values() {
    let invocation = parse_args(&strings(&[
        "-ofoo",
        "--cpio=x.gz",
        "-k",
        "/m",
        "-m",
        "a",
        "-mb",
    ]))
    .unwrap();
    assert_eq!(
        invocation,
        Invocation::Build(Options {
            list_output: Some("foo".into()),
            cpio_output: Some("x.gz".into()),
            modules_dir: Some("/m".into()),
            extra_modules: strings(&["a", "b"]),
            ..Options::default()
        })
    );
    assert_eq!(parse_args(&strings(&["--help"])).unwrap(), Invocation::Help);
}

#[test]
fn bad_args_are_usage_errors() {
    for (args, problem) in [
        (&["-m", "xfs"][..], "-m needs -k"),
        (&["--bogus"][..], "unknown argument"),
        (&["--cpio"][..], "--cpio needs a value"),
    ] {
        let error = parse_args(&strings(args)).unwrap_err();
        assert!(
            matches!(&error, MkinitramfsError::Usage { problem: p } if p.contains(problem)),
            "{error}"
        );
    }
}

#[test]
fn built_in_template_has_console_and_init() {
    let spec = InitramfsSpec::from_template(DEFAULT_TEMPLATE, Path::new("/b/kboot")).unwrap();
    let text = spec.to_string();
    assert!(text.starts_with("dir /dev 0755 0 0\nnod /dev/console 0600 0 0 c 5 1\n"));
    assert!(text.contains("file /init /b/kboot 0755 0 0\n"));
    for dir in [
        "/proc",
        "/sys",
        "/run",
        "/root",
        "/tmp",
        "/mnt",
        "/lib",
        "/lib/modules",
    ] {
        assert!(text.contains(&format!("dir {dir} ")), "{dir}");
    }
}

#[test]
fn add_modules_takes_defaults_present_and_notes_the_rest() {
    let fixture = Fixture::new();
    let index = ModuleIndex::load(Path::new(&fixture.modules_dir())).unwrap();
    let mut spec = InitramfsSpec::from_template(DEFAULT_TEMPLATE, Path::new("/k")).unwrap();
    let selection =
        add_modules(&mut spec, &index, &strings(&["virtio"]), Path::new("/gen")).unwrap();
    let names: Vec<&str> = selection.included.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "virtio",
            "virtio_blk",
            "md_mod",
            "raid1",
            "crc32c_intel",
            "libcrc32c",
            "btrfs"
        ]
    );
    // ext4 is builtin in the fake tree: satisfied, not skipped.
    assert!(!selection.skipped_defaults.contains(&"ext4".to_string()));
    assert!(selection.skipped_defaults.contains(&"ahci".to_string()));
    assert!(selection.skipped_defaults.contains(&"xfs".to_string()));
    let text = spec.to_string();
    assert!(text.contains(&format!(
        "dir /lib/modules/6.1.0-test/kernel/drivers/md 0755 0 0\n\
         file /lib/modules/6.1.0-test/kernel/drivers/md/md-mod.ko {}/kernel/drivers/md/md-mod.ko 0644 0 0\n",
        fixture.modules_dir()
    )));
    assert!(text.contains("file /lib/modules/6.1.0-test/modules.dep /gen/modules.dep 0644 0 0\n"));
    assert!(text.contains("/lib/modules/6.1.0-test/modules.builtin "));
    let modules_dep = &spec.generated()[Path::new("/gen/modules.dep")];
    assert!(String::from_utf8_lossy(modules_dep)
        .contains("kernel/drivers/md/raid1.ko: kernel/drivers/md/md-mod.ko\n"));
}

#[test]
fn a_missing_requested_module_is_an_error_naming_it() {
    let fixture = Fixture::new();
    let index = ModuleIndex::load(Path::new(&fixture.modules_dir())).unwrap();
    let mut spec = InitramfsSpec::default();
    let error =
        add_modules(&mut spec, &index, &strings(&["nosuch"]), Path::new("/gen")).unwrap_err();
    assert!(
        matches!(&error, MkinitramfsError::Module { module, .. } if module == "nosuch"),
        "{error}"
    );
}

#[test]
fn modules_with_the_list_on_stdout_need_a_gen_dir() {
    let fixture = Fixture::new();
    let error = run(&strings(&[
        "--init",
        &fixture.path("kboot"),
        "-k",
        &fixture.modules_dir(),
    ]))
    .unwrap_err();
    assert!(matches!(error, MkinitramfsError::NeedGenDir), "{error}");
}

/// Lists an archive with GNU cpio: one line per member, mode owner size/device name,
/// without the date (gen_init_cpio stamps the build time).
fn cpio_listing(archive: &Path) -> Vec<String> {
    let output = Command::new("cpio")
        .args(["-itv", "--quiet", "--numeric-uid-gid", "-F"])
        .arg(archive)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let date =
        regex::Regex::new(r" +[A-Z][a-z]{2} +[0-9]+ +([0-9]{4}|[0-9]{2}:[0-9]{2}) +").unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let line = date.replace(line, " | ");
            line.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

/// Extracts everything but device nodes (no CAP_MKNOD needed) into `out`.
fn extract(archive: &Path, out: &Path) {
    std::fs::create_dir_all(out).unwrap();
    let status = Command::new("cpio")
        .args([
            "-idm",
            "--quiet",
            "--no-absolute-filenames",
            "--nonmatching",
            "-F",
        ])
        .arg(archive)
        .arg("dev/console")
        .current_dir(out)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn run_writes_list_and_gzipped_archive_that_agree() {
    let fixture = Fixture::new();
    let list = fixture.path("initramfs.list");
    let archive = fixture.path("initramfs.cpio.gz");
    run(&strings(&[
        "--init",
        &fixture.path("kboot"),
        "-k",
        &fixture.modules_dir(),
        "-m",
        "virtio",
        "-o",
        &list,
        "--cpio",
        &archive,
    ]))
    .unwrap();

    let mut cpio_bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&archive).unwrap()),
        &mut cpio_bytes,
    )
    .unwrap();
    let plain = fixture.dir.path().join("plain.cpio");
    std::fs::write(&plain, &cpio_bytes).unwrap();
    let listing = cpio_listing(&plain);
    let list_text = std::fs::read_to_string(&list).unwrap();
    assert_eq!(listing.len(), list_text.lines().count());
    assert!(listing.contains(&"crw------- 1 0 0 5, 1 | dev/console".to_string()));

    let out = fixture.dir.path().join("out");
    extract(&plain, &out);
    let image_dep =
        std::fs::read_to_string(out.join("lib/modules/6.1.0-test/modules.dep")).unwrap();
    // The list's generated files were saved next to it, with the same contents.
    let saved_dep = std::fs::read_to_string(format!("{list}.d/modules.dep")).unwrap();
    assert_eq!(image_dep, saved_dep);
    assert!(
        image_dep.contains("kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko\n")
    );
    // /init in the image can index its modules from the generated tables alone.
    let index = ModuleIndex::load(&out.join("lib/modules/6.1.0-test")).unwrap();
    let order = index.resolve(&["btrfs", "fs-ext4"]).unwrap();
    assert_eq!(order.last().unwrap().name, "btrfs");
    assert_eq!(
        std::fs::read(out.join("init")).unwrap(),
        b"\x7fELF pretend init\n"
    );
}

#[test]
fn archive_is_reproducible() {
    let fixture = Fixture::new();
    let build = |name: &str| {
        let archive = fixture.path(name);
        run(&strings(&[
            "--init",
            &fixture.path("kboot"),
            "-k",
            &fixture.modules_dir(),
            "--cpio",
            &archive,
        ]))
        .unwrap();
        std::fs::read(archive).unwrap()
    };
    assert_eq!(build("a.cpio.gz"), build("b.cpio.gz"));
}

/// The kernel's gen_init_cpio, compiled once per test process and cached in the temp
/// dir across runs (untarring the source takes seconds).
fn gen_init_cpio() -> &'static Path {
    static TOOL: OnceLock<PathBuf> = OnceLock::new();
    TOOL.get_or_init(|| {
        let tarball = Path::new("/usr/src/linux-source-6.1.tar.xz");
        let metadata = std::fs::metadata(tarball).unwrap_or_else(|error| {
            panic!("{}: {error}; install linux-source-6.1", tarball.display())
        });
        let cache = std::env::temp_dir().join(format!("kboot-gen_init_cpio-{}", metadata.len()));
        let tool = cache.join("gen_init_cpio");
        if tool.is_file() {
            return tool;
        }
        std::fs::create_dir_all(&cache).unwrap();
        let work = tempfile::tempdir_in(&cache).unwrap();
        let member = "linux-source-6.1/usr/gen_init_cpio.c";
        let status = Command::new("tar")
            .arg("-xJf")
            .arg(tarball)
            .arg(member)
            .current_dir(work.path())
            .status()
            .unwrap();
        assert!(status.success(), "tar failed");
        let built = work.path().join("gen_init_cpio");
        let status = Command::new("cc")
            .arg("-O2")
            .arg("-o")
            .arg(&built)
            .arg(work.path().join(member))
            .status()
            .unwrap();
        assert!(status.success(), "cc gen_init_cpio.c failed");
        // rename is atomic, so concurrent test processes never see half a binary.
        std::fs::rename(&built, &tool).unwrap();
        tool
    })
}

#[test]
fn kernel_gen_init_cpio_builds_the_same_archive_from_our_list() {
    let fixture = Fixture::new();
    let list = fixture.path("initramfs.list");
    let ours = fixture.dir.path().join("ours.cpio");
    run(&strings(&[
        "--init",
        &fixture.path("kboot"),
        "-k",
        &fixture.modules_dir(),
        "-o",
        &list,
        "--cpio",
        ours.to_str().unwrap(),
    ]))
    .unwrap();
    let output = Command::new(gen_init_cpio()).arg(&list).output().unwrap();
    assert!(
        output.status.success(),
        "gen_init_cpio: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let theirs = fixture.dir.path().join("theirs.cpio");
    std::fs::write(&theirs, &output.stdout).unwrap();

    assert_eq!(cpio_listing(&ours), cpio_listing(&theirs));
    let (ours_out, theirs_out) = (fixture.dir.path().join("o"), fixture.dir.path().join("t"));
    extract(&ours, &ours_out);
    extract(&theirs, &theirs_out);
    let mut compared_files = 0;
    for entry in walkdir::WalkDir::new(&ours_out) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let relative = entry.path().strip_prefix(&ours_out).unwrap();
            assert_eq!(
                std::fs::read(entry.path()).unwrap(),
                std::fs::read(theirs_out.join(relative)).unwrap(),
                "{}",
                relative.display()
            );
            compared_files += 1;
        }
    }
    // init, 7 modules, 2 copied and 3 generated tables.
    assert_eq!(compared_files, 13);
}
