use super::*;

#[test]
fn parses_every_form_and_prints_it_back() {
    for text in [
        "/dev/vda1",
        "/dev/mapper/vg-root",
        "UUID=0b2d6c1e-4f4e-4c1a-9c43-1f2e3d4c5b6a",
        "LABEL=my root",
        "PARTUUID=6a8b2f0e-01",
        "PARTUUID=6a8b2f0e-01/PARTNROFF=-1",
        "PARTLABEL=rootpart",
        "8:1",
        "259:0",
    ] {
        let spec: DeviceSpec = text.parse().unwrap();
        assert_eq!(spec.to_string(), text);
    }
}

#[test]
fn reads_udev_style_links_and_legacy_hex() {
    assert_eq!(
        "/dev/disk/by-uuid/abc".parse(),
        Ok(DeviceSpec::Uuid("abc".into()))
    );
    assert_eq!(
        "/dev/disk/by-label/r".parse(),
        Ok(DeviceSpec::Label("r".into()))
    );
    assert_eq!(
        "/dev/disk/by-partuuid/ab-02".parse(),
        Ok(DeviceSpec::PartUuid {
            uuid: "ab-02".into(),
            offset: 0
        })
    );
    assert_eq!(
        "0801".parse(),
        Ok(DeviceSpec::Number { major: 8, minor: 1 })
    );
}

#[test]
fn rejects_what_names_nothing() {
    assert_eq!("".parse::<DeviceSpec>(), Err(SpecError::Empty));
    assert_eq!(
        "UUID=".parse::<DeviceSpec>(),
        Err(SpecError::EmptyValue("UUID"))
    );
    assert_eq!(
        "PARTUUID=ab/PARTNROFF=x".parse::<DeviceSpec>(),
        Err(SpecError::PartNrOff("ab/PARTNROFF=x".into()))
    );
    assert!(matches!(
        "vda1".parse::<DeviceSpec>(),
        Err(SpecError::Unrecognised(_))
    ));
    assert!(matches!(
        "/dev/".parse::<DeviceSpec>(),
        Err(SpecError::Unrecognised(_))
    ));
}
