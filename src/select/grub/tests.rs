use super::*;
use crate::select::DefaultSpec;
use crate::select::KernelKind;
use menu::GrubModule;

const DEBIAN: &str = include_str!("../../../tests/data/grub/debian-boot-on-root.cfg");
const DEBIAN_SAVED: &str = include_str!("../../../tests/data/grub/debian-saved-default.cfg");
const DEBIAN_ENV: &str = include_str!("../../../tests/data/grub/debian-grubenv");
const DEBIAN_XEN: &str = include_str!("../../../tests/data/grub/debian-xen.cfg");
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

/// Runs `f` on a thread with a test thread's default 2 MiB stack (PID 1's main thread
/// has 8 MiB): what passes here has room to spare at boot.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// `depth - 1` `if`s around one entry: `depth` levels of blocks.
fn nested_ifs(depth: usize) -> String {
    "if true; then\n".repeat(depth - 1) + "menuentry e { linux /k }\n" + &"fi\n".repeat(depth - 1)
}

/// `depth - 1` submenus around one entry: `depth` levels of bodies.
fn nested_submenus(depth: usize) -> String {
    "submenu s {\n".repeat(depth - 1) + "menuentry e { linux /k }\n" + &"}\n".repeat(depth - 1)
}

const MAX_NESTING: usize = super::parser::MAX_NESTING;

/// The attacker's files overflowed PID 1's stack; past the limit each is an error
/// that names the limit and the line of the first block too many.
#[test]
fn blocks_nested_past_the_limit_are_an_error_not_a_stack_overflow() {
    let too_deep = |line| {
        Err(GrubError::TooDeep {
            line,
            limit: MAX_NESTING,
        })
    };
    on_small_stack(move || {
        let ifs = "if true; then\n".repeat(20_000) + &"fi\n".repeat(20_000);
        assert_eq!(read_menu(&ifs, Vars::new()), too_deep(MAX_NESTING + 1));
        assert_eq!(
            read_menu(&nested_ifs(MAX_NESTING + 1), Vars::new()),
            too_deep(MAX_NESTING + 1)
        );
        let functions = |n| "function f {\n".repeat(n) + &"}\n".repeat(n);
        assert_eq!(
            read_menu(&functions(40_000), Vars::new()),
            too_deep(MAX_NESTING + 1)
        );
        // The attacker's 100,000 have more words than a file may hold.
        assert_eq!(
            read_menu(&functions(100_000), Vars::new()),
            Err(GrubError::TooManyWords { limit: 200_000 })
        );
        assert_eq!(
            read_menu(&nested_submenus(10_000), Vars::new()),
            too_deep(MAX_NESTING + 1)
        );
        assert_eq!(
            read_menu(&nested_submenus(MAX_NESTING + 1), Vars::new()),
            too_deep(MAX_NESTING + 1)
        );
        // Every kind of block counts, and an `if` in a condition as well.
        // Rep k opens a loop and an `if` (levels 2k - 1, 2k) and, in its condition,
        // one more `if`: level 1001 on line 1000 in the 500th.
        let mixed = "for x in a; do\nif if true; then true; fi; then\n".repeat(MAX_NESTING / 2);
        assert_eq!(read_menu(&mixed, Vars::new()), too_deep(MAX_NESTING));
    });
    assert_eq!(
        GrubError::TooDeep {
            line: 1001,
            limit: 1000
        }
        .to_string(),
        "line 1001: blocks (`if`, `menuentry`, `submenu`, `function`, loops) nest deeper \
         than 1000 levels; the file is corrupt or crafted"
    );
}

/// At the limit the file parses, runs, flattens, finds its default and is dropped,
/// all on a 2 MiB stack.
#[test]
fn blocks_nested_to_the_limit_evaluate_and_drop_on_a_small_stack() {
    on_small_stack(|| {
        let menu = read_menu(&nested_ifs(MAX_NESTING), Vars::new()).unwrap();
        assert_eq!(entries(&menu).len(), 1);
        let cfg = format!("set default=\"{}\"\n", vec!["0"; MAX_NESTING].join(">"))
            + &nested_submenus(MAX_NESTING);
        let menu = read_menu(&cfg, Vars::new()).unwrap();
        let flat = entries(&menu);
        assert_eq!(flat.len(), 1);
        assert_eq!(flat[0].0, vec![0; MAX_NESTING]);
        let Some(DefaultSpec::Grub(steps)) = &menu.config.default else {
            panic!("no default")
        };
        assert_eq!(
            resolve_default(&menu.items, steps),
            Some(vec![0; MAX_NESTING])
        );
        assert_eq!(
            resolve_default(&menu.items, &steps[..1]),
            Some(vec![0; MAX_NESTING])
        );
        let copy = menu.clone();
        assert_eq!(copy, menu);
        drop(copy);
        drop(menu);
        let functions = "function f {\n".repeat(MAX_NESTING)
            + &"}\n".repeat(MAX_NESTING)
            + "menuentry e { linux /k }\n";
        assert_eq!(read_menu(&functions, Vars::new()).unwrap().items.len(), 1);
    });
}

/// `set a="${a}${a}"` doubled to 2.5 GiB in 30 lines: past 64 KiB it is an error on
/// the line that grew it.
#[test]
fn a_variable_that_doubles_itself_stops_at_the_value_limit() {
    let cfg = "set a=x\n".to_string() + &"set a=\"${a}${a}\"\n".repeat(30);
    // Line 1 sets 1 byte; line n + 1 makes the word `a=` and 2^n bytes, past 64 KiB
    // at n = 16.
    assert_eq!(
        read_menu(&cfg, Vars::new()),
        Err(GrubError::ValueTooLong {
            line: 17,
            limit: 64 * 1024
        })
    );
    let literal = format!("set a='{}'\n", "y".repeat(1 << 20));
    assert_eq!(
        read_menu(&literal, Vars::new()),
        Err(GrubError::ValueTooLong {
            line: 1,
            limit: 64 * 1024
        })
    );
    // Unquoted, a value splits into fields; each stays within the limit.
    let cfg = "set a=x\n".to_string() + &"set a=\"${a} ${a}\"\n".repeat(14) + "linux $a\n";
    assert!(read_menu(&cfg, Vars::new()).is_ok());
}

/// A variable's value is text: `$a` inside `a` does not expand again, and a function
/// that calls itself is never run, so neither recurses.
#[test]
fn recursive_variables_and_functions_terminate() {
    let cfg = "set a='$a${a}'\nset b=\"$a\"\nfunction f { f; }\nf\n\
               function g { h; }\nfunction h { g; }\ng\n\
               menuentry \"$b\" { linux /k }\n";
    let menu = read_menu(cfg, Vars::new()).unwrap();
    let MenuItem::Entry(e) = &menu.items[0] else {
        panic!()
    };
    assert_eq!(e.title, "$a${a}");
}

/// `blscfg` copied a 1 MB variable (from grubenv) 1,000 times, 2.9 GiB: the copies
/// are charged and stop at the limit.
#[test]
fn copying_variables_into_every_blscfg_stops_at_the_copy_limit() {
    let vars = Vars::from([("big".to_string(), "z".repeat(1 << 20))]);
    let cfg = "blscfg\n".repeat(1_000);
    assert_eq!(
        read_menu(&cfg, vars.clone()),
        Err(GrubError::TooMuchCopying {
            line: 64,
            limit: 64 << 20
        })
    );
    // So do menu entries, which copy the variables for their bodies.
    let entries_cfg = "menuentry e { linux /k }\n".repeat(1_000);
    assert!(matches!(
        read_menu(&entries_cfg, vars),
        Err(GrubError::TooMuchCopying { line: 64, .. })
    ));
    // And so do many words made from one big value.
    let cfg = format!("set a={}\n", "w".repeat(60_000))
        + &"linux \"$a\" \"$a\" \"$a\" \"$a\" \"$a\" \"$a\" \"$a\" \"$a\"\n".repeat(200);
    assert!(matches!(
        read_menu(&cfg, Vars::new()),
        Err(GrubError::TooMuchCopying { .. })
    ));
}

/// 50 MB of `;` took 1.9 GiB of tokens: separators in a row are one token now, and
/// a file has at most `MAX_WORDS` words.
#[test]
fn separators_in_a_row_are_one_token_and_words_are_limited() {
    use super::lexer::{Lexer, MAX_WORDS};
    assert_eq!(Lexer::tokens(&";\n".repeat(300_000)).unwrap().len(), 1);
    let cfg = ";".repeat(300_000) + "menuentry e { linux /k }" + &";".repeat(300_000);
    assert_eq!(read_menu(&cfg, Vars::new()).unwrap().items.len(), 1);
    assert_eq!(
        read_menu(&"w\n".repeat(MAX_WORDS + 1), Vars::new()),
        Err(GrubError::TooManyWords { limit: MAX_WORDS })
    );
    assert!(read_menu(&"w\n".repeat(MAX_WORDS), Vars::new()).is_ok());
}

/// Past `MAX_ENTRIES` menu items the rest are left out, with a warning naming the
/// line of the first one left out.
#[test]
fn menu_entries_past_the_limit_are_left_out_with_a_warning() {
    let limit = super::MAX_ENTRIES;
    let cfg = "menuentry e { linux /k }\n".repeat(limit + 5);
    let menu = read_menu(&cfg, Vars::new()).unwrap();
    assert_eq!(menu.items.len(), limit);
    assert_eq!(
        menu.warnings,
        [GrubError::TooManyEntries {
            line: limit + 1,
            limit
        }]
    );
    // Items inside submenus count too.
    let cfg = "submenu s {\n".to_string() + &"menuentry e { linux /k }\n".repeat(limit) + "}\n";
    let menu = read_menu(&cfg, Vars::new()).unwrap();
    assert_eq!(flatten(&menu.items).len(), limit - 1);
    assert_eq!(menu.warnings.len(), 1);
    let good = read_menu(DEBIAN, Vars::new()).unwrap();
    assert!(good.warnings.is_empty());
}

/// `[ ! ! ! ... x ]` recursed once per `!`.
#[test]
fn a_long_chain_of_negations_is_decided_without_recursion() {
    on_small_stack(|| {
        let cfg = format!(
            "if [ {}x ]; then menuentry odd {{ linux /k }}; fi\n\
             if [ {}x ]; then menuentry even {{ linux /k }}; fi\n",
            "! ".repeat(50_001),
            "! ".repeat(50_000)
        );
        let menu = read_menu(&cfg, Vars::new()).unwrap();
        assert_eq!(menu.items.len(), 1);
        let MenuItem::Entry(e) = &menu.items[0] else {
            panic!()
        };
        assert_eq!(e.title, "even");
    });
}

/// The entry at `path` in the menu's tree.
fn entry_at<'m>(items: &'m [MenuItem], path: &[usize]) -> &'m GrubEntry {
    let (first, rest) = path.split_first().unwrap();
    match (&items[*first], rest) {
        (MenuItem::Entry(e), []) => e,
        (MenuItem::Submenu { items, .. }, rest) => entry_at(items, rest),
        (other, _) => panic!("no entry at {path:?}: {other:?}"),
    }
}

/// The titles of the menu's top level and submenus, as GRUB shows them.
fn titles(items: &[MenuItem]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i {
            MenuItem::Entry(e) => e.title.clone(),
            MenuItem::Submenu { title, .. } => format!("{title} >"),
            MenuItem::Bls { .. } => "blscfg".to_string(),
        })
        .collect()
}

/// Debian 12's real grub-mkconfig with xen-hypervisor-4.17-amd64 installed: the
/// Linux entries of 10_linux, then 20_linux_xen's top Xen entry and its submenu in a
/// submenu, each entry `multiboot2` (grub-file says Xen 4.17 is multiboot2) with the
/// dom0 kernel, then its ramdisk, as modules.
#[test]
fn debian_xen_entries_are_multiboot2_with_the_dom0_kernel_then_its_ramdisk() {
    let menu = read_menu(DEBIAN_XEN, Vars::new()).unwrap();
    assert_eq!(
        titles(&menu.items),
        [
            "Debian GNU/Linux",
            "Advanced options for Debian GNU/Linux >",
            "Debian GNU/Linux, with Xen hypervisor",
            "Advanced options for Debian GNU/Linux (with Xen hypervisor) >",
        ]
    );
    let MenuItem::Submenu { items, id, .. } = &menu.items[3] else {
        panic!()
    };
    assert_eq!(
        id.as_deref(),
        Some(&*format!("gnulinux-advanced-{ROOT_UUID}"))
    );
    assert_eq!(titles(items), ["Xen hypervisor, version 4.17-amd64 >"]);
    let MenuItem::Submenu { items: xen, id, .. } = &items[0] else {
        panic!()
    };
    assert_eq!(
        id.as_deref(),
        Some(&*format!("xen-hypervisor-4.17-amd64-{ROOT_UUID}"))
    );
    assert_eq!(
        titles(xen),
        [
            "Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-13-amd64",
            "Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-13-amd64 (recovery mode)",
            "Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-9-amd64",
            "Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-9-amd64 (recovery mode)",
        ]
    );
    let xen_args = "placeholder dom0=pvh iommu=1 console=com1 com1=115200,8n1 dom0_mem=1024M";
    let top = entry_at(&menu.items, &[2]);
    assert_eq!(top.id, Some(format!("xen-gnulinux-simple-{ROOT_UUID}")));
    assert_eq!(top.kind, KernelKind::Multiboot2);
    assert_eq!(top.kernel.as_deref(), Some("/boot/xen-4.17-amd64.gz"));
    // `${xen_rm_opts}` is empty on a PC BIOS (`$grub_platform` unset here).
    assert_eq!(top.cmdline(), xen_args);
    assert!(top.initrds.is_empty());
    assert_eq!(top.cannot_boot, None);
    let module = |file: &str, args: &str| GrubModule {
        file: file.to_string(),
        args: args.split_whitespace().map(str::to_string).collect(),
    };
    let root = format!("placeholder root=UUID={ROOT_UUID} ro");
    // `module2 --nounzip FILE`: the option is GRUB's, not the file.
    assert_eq!(
        top.modules,
        [
            module(
                "/boot/vmlinuz-6.1.0-13-amd64",
                &format!("{root} console=hvc0 quiet")
            ),
            module("/boot/initrd.img-6.1.0-13-amd64", ""),
        ]
    );
    let recovery_9 = entry_at(&menu.items, &[3, 0, 3]);
    assert_eq!(
        recovery_9.id,
        Some(format!("xen-gnulinux-6.1.0-9-amd64-recovery-{ROOT_UUID}"))
    );
    assert_eq!(recovery_9.cmdline(), xen_args);
    assert_eq!(
        recovery_9.modules,
        [
            module(
                "/boot/vmlinuz-6.1.0-9-amd64",
                &format!("{root} single console=hvc0")
            ),
            module("/boot/initrd.img-6.1.0-9-amd64", ""),
        ]
    );
    // The Linux entries are as before, Linux kernels without modules.
    let linux = entry_at(&menu.items, &[0]);
    assert_eq!(linux.kind, KernelKind::Linux);
    assert!(linux.modules.is_empty());
    assert_eq!(flatten(&menu.items).len(), 10);
    // By titles, as GRUB's `>` paths go. (By ids, the path's first step names
    // 10_linux's submenu: 20_linux_xen gives its own submenu the same id, and the
    // first match wins, in GRUB as here.)
    let steps = [
        "Advanced options for Debian GNU/Linux (with Xen hypervisor)".to_string(),
        "Xen hypervisor, version 4.17-amd64".to_string(),
        "Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-9-amd64".to_string(),
    ];
    assert_eq!(resolve_default(&menu.items, &steps), Some(vec![3, 0, 2]));
    let top_id = [format!("xen-gnulinux-simple-{ROOT_UUID}")];
    assert_eq!(resolve_default(&menu.items, &top_id), Some(vec![2]));
}

/// `multiboot` (v1) with GRUB's `--quirk-*` options, modules with `--nounzip`; a
/// module before the kernel is refused as GRUB refuses it, and a new kernel drops the
/// modules loaded before it.
#[test]
fn multiboot_lines_drop_grub_options_and_modules_follow_their_kernel() {
    let cfg = "menuentry 'hand made' {\n\
        module /early.img\n\
        multiboot --quirk-bad-kludge --quirk-modules-after-kernel /boot/xen.gz dom0_mem=512M\n\
        module --nounzip /boot/vmlinuz-6.1 root=/dev/vda1 'console=hvc0 quiet'\n\
        module /boot/initrd.img-6.1\n\
        }\n\
        menuentry 'reloaded' {\n\
        multiboot2 /boot/old.gz\n\
        module2 /boot/stale\n\
        multiboot2 /boot/xen.gz\n\
        module2 /boot/vmlinuz\n\
        }\n\
        menuentry 'linux after all' {\n\
        multiboot /boot/xen.gz\n\
        module /boot/vmlinuz\n\
        linux /boot/vmlinuz-6.1 ro\n\
        }\n";
    let menu = read_menu(cfg, Vars::new()).unwrap();
    let flat = flatten(&menu.items);
    let hand = flat[0].1;
    assert_eq!(hand.kind, KernelKind::Multiboot);
    assert_eq!(hand.kernel.as_deref(), Some("/boot/xen.gz"));
    assert_eq!(hand.args, ["dom0_mem=512M"]);
    assert_eq!(
        hand.modules,
        [
            GrubModule {
                file: "/boot/vmlinuz-6.1".into(),
                args: vec!["root=/dev/vda1".into(), "console=hvc0 quiet".into()],
            },
            GrubModule {
                file: "/boot/initrd.img-6.1".into(),
                args: vec![],
            },
        ]
    );
    let reloaded = flat[1].1;
    assert_eq!(reloaded.kind, KernelKind::Multiboot2);
    assert_eq!(reloaded.kernel.as_deref(), Some("/boot/xen.gz"));
    let files: Vec<&str> = reloaded.modules.iter().map(|m| m.file.as_str()).collect();
    assert_eq!(files, ["/boot/vmlinuz"]);
    let linux = flat[2].1;
    assert_eq!(linux.kind, KernelKind::Linux);
    assert!(linux.modules.is_empty());
    assert_eq!(linux.cmdline(), "ro");
}

/// Entries kboot cannot boot stay in the menu in their place, with the reason; the
/// default's fallback skips them.
#[test]
fn entries_kboot_cannot_boot_are_listed_with_the_reason() {
    let cfg = "menuentry 'Windows Boot Manager' {\n\
        insmod chain\n\
        chainloader /EFI/Microsoft/Boot/bootmgfw.efi\n\
        }\n\
        menuentry 'UEFI Firmware Settings' --id uefi-firmware { fwsetup }\n\
        menuentry 'Just text' { echo hello }\n\
        submenu 'More' { menuentry 'Tools' { chainloader +1 }; menuentry 'Linux' { linux /vmlinuz } }\n";
    let menu = read_menu(cfg, Vars::new()).unwrap();
    let shown: Vec<(Vec<usize>, &str, Option<&str>)> = flatten(&menu.items)
        .into_iter()
        .map(|(p, e)| (p, e.title.as_str(), e.cannot_boot.as_deref()))
        .collect();
    assert_eq!(
        shown,
        [
            (
                vec![0],
                "Windows Boot Manager",
                Some("chainloader (another boot loader)")
            ),
            (
                vec![1],
                "UEFI Firmware Settings",
                Some("fwsetup (the firmware's setup screen)")
            ),
            (vec![2], "Just text", Some("no linux or multiboot command")),
            (
                vec![3, 0],
                "Tools",
                Some("chainloader (another boot loader)")
            ),
            (vec![3, 1], "Linux", None),
        ]
    );
    // A default naming the submenu means its first entry kboot can boot.
    assert_eq!(
        resolve_default(&menu.items, &["More".into()]),
        Some(vec![3, 1])
    );
}
