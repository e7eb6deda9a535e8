use super::fake::{FakeStore, FakeXen, Log, RUNNING_FLAGS, SOFT_RESET_FLAGS};
use super::*;

fn serve_with(
    xen: &mut FakeXen,
    store: &mut FakeStore,
    once: bool,
) -> (Result<ServeEnd, XenHostError>, Vec<String>, usize) {
    let mut lines = Vec::new();
    let mut waits = 0;
    let result = serve(
        xen,
        store,
        3,
        once,
        &mut |l| lines.push(l.to_string()),
        &mut || waits += 1,
    );
    (result, lines, waits)
}

#[test]
fn serve_resets_each_kexec_until_the_domain_is_gone() {
    let log = Log::default();
    let states = [
        Some(RUNNING_FLAGS),
        Some(SOFT_RESET_FLAGS),
        Some(RUNNING_FLAGS),
        Some(SOFT_RESET_FLAGS),
        None,
    ];
    let mut xen = FakeXen::new(&log, &states);
    let mut store = FakeStore::new(&log, &[]);
    let (result, lines, _) = serve_with(&mut xen, &mut store, false);
    assert_eq!(result.unwrap(), ServeEnd::Gone { resets: 2 });
    assert_eq!(
        log.borrow().iter().filter(|l| *l == "soft_reset 3").count(),
        2
    );
    assert!(lines.contains(&"domain 3: unpaused; soft reset 2 done".to_string()));
    assert_eq!(
        lines.last().unwrap(),
        "domain 3 is gone; 2 soft reset(s) done"
    );
}

#[test]
fn serve_with_once_stops_after_the_first_reset() {
    let log = Log::default();
    let mut xen = FakeXen::new(&log, &[Some(SOFT_RESET_FLAGS), Some(SOFT_RESET_FLAGS)]);
    let mut store = FakeStore::new(&log, &[]);
    let (result, lines, _) = serve_with(&mut xen, &mut store, true);
    assert_eq!(result.unwrap(), ServeEnd::Once);
    assert_eq!(
        lines[0],
        "domain 3: shut down for a soft reset (reason 5: the guest kexecs)"
    );
    assert_eq!(
        log.borrow().iter().filter(|l| *l == "soft_reset 3").count(),
        1
    );
}

#[test]
fn serve_waits_between_polls_of_a_running_domain() {
    let log = Log::default();
    let states = [
        Some(RUNNING_FLAGS),
        Some(RUNNING_FLAGS),
        Some(RUNNING_FLAGS),
        None,
    ];
    let mut xen = FakeXen::new(&log, &states);
    let mut store = FakeStore::new(&log, &[]);
    let (result, _, waits) = serve_with(&mut xen, &mut store, false);
    assert_eq!(result.unwrap(), ServeEnd::Gone { resets: 0 });
    assert_eq!(waits, 3);
}

#[test]
fn another_shutdown_reason_is_reported_once_and_left_alone() {
    let log = Log::default();
    // Shut down (bit 2), HVM container (bit 1), reason 0 in bits 16-23.
    let poweroff = 0b110;
    let states = [Some(poweroff), Some(poweroff), Some(poweroff), None];
    let mut xen = FakeXen::new(&log, &states);
    let mut store = FakeStore::new(&log, &[]);
    let (result, lines, _) = serve_with(&mut xen, &mut store, false);
    result.unwrap();
    assert_eq!(
        lines,
        [
            "domain 3: shut down with reason 0 (poweroff), not a soft reset: left to xl",
            "domain 3 is gone; 0 soft reset(s) done",
        ]
    );
    assert!(!log.borrow().iter().any(|l| l.starts_with("pause")));
}

#[test]
fn a_domain_missing_at_the_start_is_an_error_not_a_quiet_exit() {
    let log = Log::default();
    let mut xen = FakeXen::new(&log, &[None]);
    let mut store = FakeStore::new(&log, &[]);
    let (result, _, _) = serve_with(&mut xen, &mut store, false);
    assert!(matches!(result, Err(XenHostError::NoSuchDomain(3))));
}

#[test]
fn a_pv_domain_is_refused_with_the_remedy() {
    let log = Log::default();
    // Shut down with reason 5 but without XEN_DOMINF_hvm_guest.
    let mut xen = FakeXen::new(&log, &[Some((5 << 16) | 0b100)]);
    let mut store = FakeStore::new(&log, &[]);
    let err = serve_with(&mut xen, &mut store, false).0.unwrap_err();
    assert!(matches!(err, XenHostError::PvGuest(3)));
    assert!(err.to_string().contains("type=\"pvh\""));
}

#[test]
fn a_domain_is_found_by_its_xenstore_name_or_taken_as_an_id() {
    let log = Log::default();
    let mut store = FakeStore::new(
        &log,
        &[
            ("/local/domain/0/name", "Domain-0"),
            ("/local/domain/7/name", "guest"),
            ("/local/domain/7/console/port", "2"),
        ],
    );
    assert_eq!(resolve_domain(&mut store, "guest").unwrap(), 7);
    assert_eq!(resolve_domain(&mut store, "12").unwrap(), 12);
    assert!(matches!(
        resolve_domain(&mut store, "nope"),
        Err(XenHostError::NoSuchName(_))
    ));
}

#[test]
fn dom0_and_reserved_ids_are_not_guests() {
    let log = Log::default();
    let mut store = FakeStore::new(&log, &[("/local/domain/0/name", "Domain-0")]);
    assert!(matches!(
        resolve_domain(&mut store, "Domain-0"),
        Err(XenHostError::NotAGuest(0))
    ));
    assert!(matches!(
        resolve_domain(&mut store, "32752"),
        Err(XenHostError::NotAGuest(32752))
    ));
}

#[test]
fn a_name_not_created_yet_is_waited_for_with_one_line() {
    let log = Log::default();
    let mut store = FakeStore::new(&log, &[("/local/domain/7/name", "guest")]);
    store.empty_directories = 3;
    let mut lines = Vec::new();
    let mut waits = 0;
    let domid = wait_for_domain(
        &mut store,
        "guest",
        &mut |l| lines.push(l.to_string()),
        &mut || waits += 1,
    )
    .unwrap();
    assert_eq!(domid, 7);
    assert_eq!(waits, 3);
    assert_eq!(
        lines,
        ["no domain named \"guest\" yet: waiting for it to be created (xl create)"]
    );
}

#[test]
fn waiting_does_not_hide_other_errors() {
    let log = Log::default();
    let mut store = FakeStore::new(&log, &[]);
    let result = wait_for_domain(&mut store, "0", &mut |_| {}, &mut || {});
    assert!(matches!(result, Err(XenHostError::NotAGuest(0))));
}
