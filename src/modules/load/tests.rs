use super::*;
use crate::modules::index::ModuleTables;

fn fixture_sys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/modload-sys")
}

fn index() -> ModuleIndex {
    ModuleIndex::from_tables(
        Path::new("/lib/modules/test"),
        &ModuleTables {
            modules_dep: "\
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio.ko
kernel/drivers/ata/ahci.ko: kernel/drivers/ata/libahci.ko
kernel/drivers/ata/libahci.ko:
",
            modules_alias: "\
alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci
alias virtio:d00000002v* virtio_blk
alias pci:v*d*sv*sd*bc01sc06i01* ahci
alias fs-xfs xfs
",
            ..ModuleTables::default()
        },
    )
    .unwrap()
}

#[derive(Default)]
struct Recorder {
    loaded: Vec<PathBuf>,
    refuse: Vec<(&'static str, Errno)>,
}

impl ModuleLoader for Recorder {
    fn load(&mut self, path: &Path) -> Result<(), ModloadError> {
        self.loaded.push(path.to_path_buf());
        let refused = self
            .refuse
            .iter()
            .find(|(name, _)| path.to_string_lossy().contains(name));
        match refused {
            Some(&(_, errno)) => Err(ModloadError::Syscall {
                syscall: "finit_module",
                path: path.to_path_buf(),
                errno,
            }),
            None => Ok(()),
        }
    }
}

#[test]
fn device_modaliases_walks_sysfs_without_following_links() {
    assert_eq!(
        device_modaliases(&fixture_sys()).unwrap(),
        [
            "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00",
            "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01",
            "platform:serial8250",
            "virtio:d00000002v00001AF4",
        ]
    );
}

#[test]
fn plan_loads_drivers_for_fixture_devices_in_dependency_order() {
    let modaliases = device_modaliases(&fixture_sys()).unwrap();
    let plan = plan_for_modaliases(&index(), &modaliases);
    let names: Vec<&str> = plan.modules.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["virtio", "virtio_pci", "libahci", "ahci", "virtio_blk"]
    );
    assert!(plan.unresolved.is_empty());
}

#[test]
fn plan_keeps_going_past_an_unresolvable_module() {
    // The alias table names xfs but modules.dep has no such module.
    let plan = plan_for_modaliases(&index(), &["fs-xfs".into(), "virtio:d00000002v1".into()]);
    assert_eq!(plan.modules.len(), 2);
    assert_eq!(plan.unresolved.len(), 1);
    assert_eq!(plan.unresolved[0].0, "xfs");
}

#[test]
fn load_treats_eexist_as_loaded_and_reports_other_errnos() {
    let index = index();
    let modules = index.resolve(&["virtio_blk", "ahci"]).unwrap();
    let mut recorder = Recorder {
        refuse: vec![("virtio.ko", Errno::EEXIST), ("libahci", Errno::ENOEXEC)],
        ..Recorder::default()
    };
    let report = load_modules(&mut recorder, &index, &modules);
    assert_eq!(report.already_loaded, ["virtio"]);
    assert_eq!(report.loaded, ["virtio_blk"]);
    assert_eq!(report.failed.len(), 2);
    assert_eq!(report.failed[0].module, "libahci");
    assert_eq!(report.failed[0].errno(), Some(Errno::ENOEXEC));
    // ahci is not tried once libahci failed.
    assert_eq!(report.failed[1].module, "ahci");
    assert!(matches!(
        &report.failed[1].error,
        ModloadError::DependencyFailed { dependency } if dependency == "libahci"
    ));
    assert_eq!(
        recorder.loaded,
        [
            Path::new("/lib/modules/test/kernel/drivers/virtio/virtio.ko"),
            Path::new("/lib/modules/test/kernel/drivers/block/virtio_blk.ko"),
            Path::new("/lib/modules/test/kernel/drivers/ata/libahci.ko"),
        ]
    );
}
