use super::*;

const LIST: &str = "\
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
nod /dev/vda 0660 0 6 b 254 0
dir /bin 0755 0 0
file /init /build/kboot 0755 0 0
slink /bin/sh /init 0777 0 0
";

#[test]
fn list_round_trips_through_the_spec() {
    let spec: InitramfsSpec = LIST.parse().unwrap();
    assert_eq!(spec.entries().len(), 6);
    assert_eq!(spec.to_string(), LIST);
    assert_eq!(spec.to_string().parse::<InitramfsSpec>().unwrap(), spec);
}

#[test]
fn comments_and_blank_lines_are_skipped() {
    let spec: InitramfsSpec = "# a comment\n\n  dir /dev 755 0 0\n  # indented comment\n"
        .parse()
        .unwrap();
    assert_eq!(spec.to_string(), "dir /dev 0755 0 0\n");
}

#[test]
fn entries_print_as_gen_init_cpio_lines() {
    let path = ImagePath::new("/lib/modules").unwrap();
    assert_eq!(
        Entry::dir(path.clone(), 0o755).to_string(),
        "dir /lib/modules 0755 0 0"
    );
    assert_eq!(
        Entry::file(path.join("x.ko").unwrap(), "/src/x.ko".into(), 0o644).to_string(),
        "file /lib/modules/x.ko /src/x.ko 0644 0 0"
    );
}

#[test]
fn a_child_before_its_parent_is_an_error() {
    let error = "file /bin/sh /x 0755 0 0\n"
        .parse::<InitramfsSpec>()
        .unwrap_err();
    assert!(
        matches!(&error, ListError::BadLine { line_number: 1, reason, .. }
            if reason.contains("parent directory /bin")),
        "{error}"
    );
}

#[test]
fn spaces_in_paths_are_rejected() {
    assert!(matches!(
        ImagePath::new("/a b"),
        Err(ListError::Whitespace { .. })
    ));
    let mut spec = InitramfsSpec::default();
    let error = spec
        .push(Entry::file(
            ImagePath::new("/init").unwrap(),
            "/my dir/kboot".into(),
            0o755,
        ))
        .unwrap_err();
    assert!(
        matches!(error, ListError::Whitespace { what: "source", .. }),
        "{error}"
    );
}

#[test]
fn bad_image_paths_are_rejected() {
    assert!(matches!(
        ImagePath::new("dev"),
        Err(ListError::NotAbsolute { .. })
    ));
    for bad in ["/", "/a//b", "/a/../b", "/a/./b", "/a/"] {
        assert!(
            matches!(ImagePath::new(bad), Err(ListError::BadComponent { .. })),
            "{bad}"
        );
    }
}

#[test]
fn malformed_lines_name_the_problem() {
    for (line, reason) in [
        ("dir /dev 0755 0", "wrong number of fields for dir"),
        ("dir /dev 0855 0 0", "bad octal mode"),
        ("nod /dev/x 0600 0 0 p 1 1", "neither 'b' nor 'c'"),
        ("pipe /fifo 0600 0 0", "pipe entries are not supported"),
        ("file /a /b 0644 0 0 /c", "hard links"),
        ("link /a /b", "unknown entry type"),
    ] {
        let error = line.parse::<InitramfsSpec>().unwrap_err();
        assert!(error.to_string().contains(reason), "{line}: {error}");
    }
}

#[test]
fn duplicates_are_rejected_and_add_dir_all_fills_in_parents() {
    let mut spec = InitramfsSpec::default();
    spec.add_dir_all(&ImagePath::new("/lib/modules/6.1/kernel").unwrap(), 0o755)
        .unwrap();
    spec.add_dir_all(&ImagePath::new("/lib/modules").unwrap(), 0o755)
        .unwrap();
    assert_eq!(
        spec.to_string(),
        "dir /lib 0755 0 0\ndir /lib/modules 0755 0 0\n\
         dir /lib/modules/6.1 0755 0 0\ndir /lib/modules/6.1/kernel 0755 0 0\n"
    );
    let error = spec
        .push(Entry::dir(ImagePath::new("/lib").unwrap(), 0o700))
        .unwrap_err();
    assert!(matches!(error, ListError::Duplicate { .. }));
}

#[test]
fn template_substitutes_the_init_binary() {
    let spec = InitramfsSpec::from_template("file /init @KBOOT@ 0755 0 0\n", Path::new("/b/kboot"))
        .unwrap();
    assert_eq!(spec.to_string(), "file /init /b/kboot 0755 0 0\n");
}
