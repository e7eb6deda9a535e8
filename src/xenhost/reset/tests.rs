use super::*;
use crate::xenhost::fake::{FakeStore, FakeXen, Log, SOFT_RESET_FLAGS};

fn run(
    xen: &mut FakeXen,
    store: &mut FakeStore,
) -> (Result<ResetOutcome, SoftResetError>, Vec<String>) {
    let mut lines = Vec::new();
    let result = soft_reset(xen, store, 3, &mut |l| lines.push(l.to_string()));
    (result, lines)
}

#[test]
fn the_steps_run_in_libxl_order_and_the_domain_stays_paused_until_the_end() {
    let log = Log::default();
    let mut xen = FakeXen::new(&log, &[Some(SOFT_RESET_FLAGS)]);
    let mut store = FakeStore::new(&log, &[]);
    let (result, _) = run(&mut xen, &mut store);
    assert_eq!(
        result.unwrap(),
        ResetOutcome {
            store_port: 1,
            console_port: 2,
            store_gfn: 0xfeffc,
            console_gfn: 0xfeffd
        }
    );
    assert_eq!(
        *log.borrow(),
        [
            "get_param 3 HVM_PARAM_STORE_PFN",
            "get_param 3 HVM_PARAM_CONSOLE_PFN",
            "pause 3",
            "soft_reset 3",
            "alloc_unbound 3 remote 0",
            "alloc_unbound 3 remote 0",
            "set_param 3 HVM_PARAM_STORE_EVTCHN 1",
            "set_param 3 HVM_PARAM_CONSOLE_EVTCHN 2",
            "xs write /local/domain/3/store/port 1",
            "xs write /local/domain/3/store/ring-ref 1044476",
            "xs introduce 3 0xfeffc 1",
            "xs resume 3",
            "xs write /local/domain/3/console/port 2",
            "xs write /local/domain/3/console/ring-ref 1044477",
            "unpause 3",
        ]
    );
}

#[test]
fn the_event_channels_go_to_the_domains_xenstore_names_as_backends() {
    let log = Log::default();
    let mut xen = FakeXen::new(&log, &[Some(SOFT_RESET_FLAGS)]);
    let mut store = FakeStore::new(
        &log,
        &[
            ("/tool/xenstored/domid", "1"),
            ("/tool/xenconsoled/domid", "2"),
        ],
    );
    let (result, lines) = run(&mut xen, &mut store);
    result.unwrap();
    assert!(log
        .borrow()
        .contains(&"alloc_unbound 3 remote 1".to_string()));
    assert!(log
        .borrow()
        .contains(&"alloc_unbound 3 remote 2".to_string()));
    assert!(lines.contains(
        &"domain 3: new event channels: xenstore port 1 (to domain 1), console port 2 (to domain 2)"
            .to_string()
    ));
}

#[test]
fn each_step_prints_one_progress_line() {
    let log = Log::default();
    let mut xen = FakeXen::new(&log, &[Some(SOFT_RESET_FLAGS)]);
    let mut store = FakeStore::new(&log, &[]);
    let (_, lines) = run(&mut xen, &mut store);
    assert_eq!(
        lines,
        [
            "domain 3: paused",
            "domain 3: soft reset done (XEN_DOMCTL_soft_reset: event channels closed, memory kept)",
            "domain 3: new event channels: xenstore port 1 (to domain 0), console port 2 (to domain 0)",
            "domain 3: set HVM_PARAM_STORE_EVTCHN=1 HVM_PARAM_CONSOLE_EVTCHN=2",
            "domain 3: re-introduced to xenstored (ring gfn 0xfeffc, port 1)",
            "domain 3: wrote console/port=2 for xenconsoled",
        ]
    );
}

#[test]
fn a_failed_soft_reset_stops_there_and_says_the_domain_is_left_paused() {
    let log = Log::default();
    let mut xen = FakeXen::new(&log, &[Some(SOFT_RESET_FLAGS)]);
    xen.fail = Some("soft_reset");
    let mut store = FakeStore::new(&log, &[]);
    let (result, _) = run(&mut xen, &mut store);
    let err = result.unwrap_err();
    assert_eq!(err.step, Step::SoftReset);
    assert_eq!(log.borrow().last().unwrap(), "soft_reset 3");
    let text = err.to_string();
    assert!(
        text.starts_with("domain 3: the soft reset failed: soft_reset 3 failed: "),
        "{text}"
    );
    assert!(text.contains("left paused"), "{text}");
    assert!(text.contains("`xl destroy 3`"), "{text}");
}

#[test]
fn a_failed_pause_leaves_the_domain_untouched() {
    let log = Log::default();
    let mut xen = FakeXen::new(&log, &[Some(SOFT_RESET_FLAGS)]);
    xen.fail = Some("pause");
    let mut store = FakeStore::new(&log, &[]);
    let err = run(&mut xen, &mut store).0.unwrap_err();
    assert_eq!(err.step, Step::Pause);
    assert!(err.to_string().contains("is untouched"));
}

#[test]
fn a_domain_without_a_xenstore_ring_is_refused_before_pausing() {
    let log = Log::default();
    let mut xen = FakeXen::new(&log, &[Some(SOFT_RESET_FLAGS)]);
    xen.store_pfn = 0;
    let mut store = FakeStore::new(&log, &[]);
    let err = run(&mut xen, &mut store).0.unwrap_err();
    assert!(matches!(err.source, StepError::NoStoreRing));
    assert!(!log.borrow().iter().any(|l| l.starts_with("pause")));
}

#[test]
fn a_console_without_a_ring_page_keeps_its_ring_ref() {
    let log = Log::default();
    let mut xen = FakeXen::new(&log, &[Some(SOFT_RESET_FLAGS)]);
    xen.console_pfn = 0;
    let mut store = FakeStore::new(&log, &[]);
    run(&mut xen, &mut store).0.unwrap();
    assert!(!log.borrow().iter().any(|l| l.contains("console/ring-ref")));
}

#[test]
fn a_backend_domid_that_is_not_a_number_is_an_error() {
    let log = Log::default();
    let mut xen = FakeXen::new(&log, &[Some(SOFT_RESET_FLAGS)]);
    let mut store = FakeStore::new(&log, &[("/tool/xenstored/domid", "dom0")]);
    let err = run(&mut xen, &mut store).0.unwrap_err();
    assert_eq!(err.step, Step::ReadBackends);
    assert!(matches!(err.source, StepError::BadDomid { .. }));
}
