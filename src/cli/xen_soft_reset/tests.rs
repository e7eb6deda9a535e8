use super::*;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_name_and_once_are_parsed() {
    assert_eq!(
        parse(&args(&["guest", "--once"])).unwrap(),
        Parsed::Serve(SoftResetOptions {
            domain: "guest".into(),
            once: true
        })
    );
}

#[test]
fn help_wins_over_everything_else() {
    assert_eq!(parse(&args(&["guest", "--help"])).unwrap(), Parsed::Help);
}

#[test]
fn missing_domain_unknown_options_and_two_domains_are_usage_errors() {
    assert!(parse(&[]).unwrap_err().contains("missing DOMAIN"));
    assert!(parse(&args(&["--bogus", "g"]))
        .unwrap_err()
        .contains("unknown option --bogus"));
    assert!(parse(&args(&["a", "b"]))
        .unwrap_err()
        .contains("one DOMAIN only"));
}
