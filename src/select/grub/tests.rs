use super::*;
use crate::select::DefaultSpec;

const DEBIAN: &str = include_str!("../../../tests/data/grub/debian-boot-on-root.cfg");
const DEBIAN_SAVED: &str = include_str!("../../../tests/data/grub/debian-saved-default.cfg");
const DEBIAN_ENV: &str = include_str!("../../../tests/data/grub/debian-grubenv");
const ROOT_UUID: &str = "4b424f4f-0005-4000-8000-000000000001";

/// Position path, title, kernel, command line, initrds.
type Shown = (Vec<usize>, String, String, String, Vec<String>);

fn entries(menu: &Menu) -> Vec<Shown> {
    flatten(&menu.items)
        .into_iter()
        .map(|(p, e)| {
            (
                p,
                e.title.clone(),
                e.kernel.clone().unwrap(),
                e.cmdline(),
                e.initrds.clone(),
            )
        })
        .collect()
}

#[test]
fn debian_generated_menu() {
    let menu = read_menu(DEBIAN, Vars::new()).unwrap();
    let root = format!("root=UUID={ROOT_UUID} ro");
    let e = |p: &[usize], t: &str, v: &str, extra: &str| {
        (
            p.to_vec(),
            t.to_string(),
            format!("/boot/vmlinuz-{v}"),
            format!("{root}{extra}"),
            vec![format!("/boot/initrd.img-{v}")],
        )
    };
    assert_eq!(
        entries(&menu),
        vec![
            e(&[0], "GNU/Linux", "6.1.0-13-amd64", ""),
            e(
                &[1, 0],
                "GNU/Linux, with Linux 6.1.0-13-amd64",
                "6.1.0-13-amd64",
                ""
            ),
            e(
                &[1, 1],
                "GNU/Linux, with Linux 6.1.0-13-amd64 (recovery mode)",
                "6.1.0-13-amd64",
                " single"
            ),
            e(
                &[1, 2],
                "GNU/Linux, with Linux 6.1.0-9-amd64",
                "6.1.0-9-amd64",
                ""
            ),
            e(
                &[1, 3],
                "GNU/Linux, with Linux 6.1.0-9-amd64 (recovery mode)",
                "6.1.0-9-amd64",
                " single"
            ),
        ]
    );
    let ids: Vec<Option<String>> = flatten(&menu.items)
        .iter()
        .map(|(_, e)| e.id.clone())
        .collect();
    assert_eq!(ids[0], Some(format!("gnulinux-simple-{ROOT_UUID}")));
    assert_eq!(
        ids[3],
        Some(format!("gnulinux-6.1.0-9-amd64-advanced-{ROOT_UUID}"))
    );
    // `set default="0"` is in the else branch of `if [ "${next_entry}" ]`.
    assert_eq!(
        menu.config.default,
        Some(DefaultSpec::Grub(vec!["0".into()]))
    );
    assert_eq!(menu.config.timeout_secs, Some(5));
    assert!(!menu.has_blscfg());
}

#[test]
fn saved_default_comes_from_grubenv_and_next_entry_is_ignored() {
    let env: GrubEnv = DEBIAN_ENV.parse().unwrap();
    assert_eq!(env.get("next_entry"), Some("1"));
    let menu = read_menu(DEBIAN_SAVED, env.boot_vars()).unwrap();
    let Some(DefaultSpec::Grub(steps)) = &menu.config.default else {
        panic!("no default: {:?}", menu.config)
    };
    assert_eq!(
        steps,
        &[
            format!("gnulinux-advanced-{ROOT_UUID}"),
            format!("gnulinux-6.1.0-9-amd64-advanced-{ROOT_UUID}")
        ]
    );
    assert_eq!(resolve_default(&menu.items, steps), Some(vec![1, 2]));
    assert_eq!(menu.config.timeout_secs, Some(3));
    let first = &flatten(&menu.items)[0].1;
    assert_eq!(first.title, "Debian GNU/Linux");
    assert_eq!(
        first.cmdline(),
        format!("root=UUID={ROOT_UUID} ro console=ttyS0 console=tty0 quiet")
    );
    // Without a grubenv, saved_entry is empty and GRUB's default (0) applies.
    let bare = read_menu(DEBIAN_SAVED, Vars::new()).unwrap();
    assert_eq!(bare.config.default, None);
}

#[test]
fn recordfail_in_grubenv_lengthens_the_timeout_as_grub_does() {
    let vars = Vars::from([("recordfail".to_string(), "1".to_string())]);
    assert_eq!(
        read_menu(DEBIAN, vars).unwrap().config.timeout_secs,
        Some(30)
    );
}

#[test]
fn grubenv_round_trips_byte_for_byte() {
    let env: GrubEnv = DEBIAN_ENV.parse().unwrap();
    assert_eq!(env.to_string(), DEBIAN_ENV);
    assert_eq!(env.to_string().len(), 1024);
    assert_eq!(
        "saved_entry=0".parse::<GrubEnv>(),
        Err(GrubError::NotEnvBlock)
    );
}

#[test]
fn default_by_position_title_id_and_submenu() {
    let menu = read_menu(DEBIAN, Vars::new()).unwrap();
    let steps = |s: &str| s.split('>').map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        resolve_default(&menu.items, &steps("1>2")),
        Some(vec![1, 2])
    );
    assert_eq!(resolve_default(&menu.items, &steps("1")), Some(vec![1, 0]));
    assert_eq!(
        resolve_default(
            &menu.items,
            &steps("Advanced options for GNU/Linux>GNU/Linux, with Linux 6.1.0-9-amd64")
        ),
        Some(vec![1, 2])
    );
    assert_eq!(resolve_default(&menu.items, &steps("7")), None);
    assert_eq!(resolve_default(&menu.items, &steps("1>9")), None);
}

#[test]
fn quoting_expansion_and_continuation() {
    let cfg = "set v=\"a b\"\nset w=x\\\ny\n\
               menuentry 'it'\\''s' \"$w\" {\n\
               \tset extra=\"q=1\"\n\
               \tlinux ($root)/k $v \"$v\" ${extra} '$v' \\$v x$undefined\\ y # c\n\
               \tinitrd /a /b\n}\n";
    let menu = read_menu(cfg, Vars::new()).unwrap();
    let MenuItem::Entry(e) = &menu.items[0] else {
        panic!()
    };
    assert_eq!(e.title, "it's");
    assert_eq!(e.kernel.as_deref(), Some("()/k"));
    assert_eq!(e.args, ["a", "b", "a b", "q=1", "$v", "$v", "x y"]);
    assert_eq!(e.initrds, ["/a", "/b"]);
}

#[test]
fn undecidable_ifs_functions_and_loops_are_skipped_and_entries_survive() {
    let cfg = "function f { menuentry inner { linux /no } }\n\
               if loadfont unicode ; then set gfxmode=auto; menuentry hidden { linux /no }; fi\n\
               for x in a b; do echo $x; done\n\
               if [ -s $prefix/grubenv ]; then load_env; elif true; then set a=1; fi\n\
               if [ \"${a}\" ]; then set a=2; elif [ x = x ]; then set b=3; else set b=4; fi\n\
               menuentry \"t $b\" --id=ignored --class x { search --set=root --fs-uuid u; linux /vmlinuz }\n";
    let menu = read_menu(cfg, Vars::new()).unwrap();
    assert_eq!(menu.items.len(), 1);
    let MenuItem::Entry(e) = &menu.items[0] else {
        panic!()
    };
    assert_eq!(e.title, "t 3");
    assert_eq!(e.kernel.as_deref(), Some("/vmlinuz"));
}

/// Fedora's 12_menu_auto_hide: after a good boot (`boot_success=1` in grubenv) the
/// menu is hidden with a 1 s timeout.
#[test]
fn fedora_menu_auto_hide_follows_grubenv() {
    let cfg = include_str!("../../../tests/data/bls/fedora39/grub2/grub.cfg");
    let env: GrubEnv = include_str!("../../../tests/data/bls/fedora39/grub2/grubenv")
        .parse()
        .unwrap();
    let menu = read_menu(cfg, env.boot_vars()).unwrap();
    assert_eq!(menu.config.timeout_secs, Some(5));
    assert!(menu.has_blscfg());
    let mut vars = env.boot_vars();
    vars.insert("boot_success".into(), "1".into());
    let menu = read_menu(cfg, vars).unwrap();
    assert_eq!(menu.config.timeout_secs, Some(1));
}

#[test]
fn blscfg_marks_where_bls_entries_go() {
    let cfg = "if [ -z \"${kernelopts}\" ]; then\n  set kernelopts=\"root=/dev/x ro \"\nfi\ninsmod blscfg\nblscfg\n";
    let menu = read_menu(cfg, Vars::new()).unwrap();
    assert!(menu.has_blscfg());
    let MenuItem::Bls { vars } = &menu.items[0] else {
        panic!()
    };
    assert_eq!(vars.get("kernelopts").unwrap(), "root=/dev/x ro ");
}

#[test]
fn syntax_errors_name_the_line() {
    assert_eq!(
        read_menu("set a=1\nmenuentry 'x {\n", Vars::new()),
        Err(GrubError::UnclosedQuote { line: 2 })
    );
    assert!(matches!(
        read_menu("menuentry x {\n linux /k\n", Vars::new()),
        Err(GrubError::Unterminated { .. })
    ));
    assert!(matches!(
        read_menu("if true; then\n", Vars::new()),
        Err(GrubError::Unterminated { .. })
    ));
    assert!(matches!(
        read_menu("}\n", Vars::new()),
        Err(GrubError::Unexpected { .. })
    ));
}
