//! Unit tests.

use super::*;
use crate::commands::compare::tests::report;

fn kws() -> Report {
    report("kws.elf", "mimxrt1011", 500.0, &[("CONV_2D", 10_000), ("DEPTHWISE_CONV_2D", 5_000), ("SOFTMAX", 100)], 400)
}

#[test]
fn tolerance_accepts_percent_and_fraction() {
    assert_eq!(parse_tolerance("2%").unwrap(), 0.02);
    assert_eq!(parse_tolerance(" 2 % ").unwrap(), 0.02);
    assert_eq!(parse_tolerance("0.02").unwrap(), 0.02);
    assert_eq!(parse_tolerance("0").unwrap(), 0.0);
    assert_eq!(parse_tolerance("0%").unwrap(), 0.0);
    assert_eq!(parse_tolerance("0.5%").unwrap(), 0.005);
    assert_eq!(parse_tolerance("1").unwrap(), 1.0);
    assert_eq!(parse_tolerance("150%").unwrap(), 1.5);
    for bad in ["", "%", "two", "2", "-1%", "-0.1", "NaN", "inf%"] {
        assert!(matches!(parse_tolerance(bad), Err(SimError::Usage(_))), "{bad:?} should be rejected");
    }
    assert!(parse_tolerance("2").unwrap_err().to_string().contains("2%"));
}

#[test]
fn baseline_round_trips_and_passes_against_itself() {
    let r = kws();
    let b = Budgets::from_report(&r);
    assert_eq!(b.schema, SCHEMA);
    assert_eq!(b.total_cycles, r.cycles);
    assert_eq!(b.inference_cycles, Some(15_500));
    assert_eq!(b.operators.len(), 3);
    assert_eq!(b.functions.len(), 3);
    let text = b.to_json();
    assert!(!text.contains("invocation"), "invocation 0 is omitted: {text}");
    assert_eq!(Budgets::parse(&text, "x").unwrap(), b);
    let res = check(&r, &b, 0.0, "b.json");
    assert!(res.passed, "{}", super::text(&res));
    assert!(res.items.iter().all(|i| i.status == Status::Ok));
    // total, inference, 3 operators, 3 functions
    assert_eq!(res.items.len(), 8);
}

#[test]
fn a_lowered_operator_budget_fails_and_is_named() {
    let r = kws();
    let mut b = Budgets::from_report(&r);
    b.operators[1].cycles = 4_500; // 10 % below 5,000
    let res = check(&r, &b, 0.02, "b.json");
    assert!(!res.passed);
    assert_eq!(res.failures, 1);
    let bad = res.items.iter().find(|i| i.status == Status::Exceeded).unwrap();
    assert_eq!(bad.name, "operator #1 DEPTHWISE_CONV_2D");
    assert_eq!(bad.limit, Some(4_590));
    let t = text(&res);
    assert!(t.contains("FAILED: 1 of 8 budget items: operator #1 DEPTHWISE_CONV_2D"), "{t}");
    let x = junit(&res);
    assert_eq!(x.matches("<testcase ").count(), 8);
    assert_eq!(x.matches("<failure ").count(), 1);
    assert!(x.contains("name=\"operator #1 DEPTHWISE_CONV_2D\">\n      <failure type=\"budget-exceeded\""), "{x}");
    let md = markdown(&res);
    assert!(md.contains("| ❌ exceeded | operator #1 DEPTHWISE_CONV_2D | 5,000 | 4,500 | 4,590 | +11.11 % |"), "{md}");
}

#[test]
fn tolerance_lets_a_small_overrun_pass_and_reports_improvements() {
    let r = kws();
    let mut b = Budgets::from_report(&r);
    b.operators[0].cycles = 9_901; // 10,000 is a 1 % overrun
    assert!(check(&r, &b, 0.02, "b").passed);
    assert!(!check(&r, &b, 0.005, "b").passed);
    assert!(!check(&r, &b, 0.0, "b").passed);
    b.operators[0].cycles = 11_000; // 9 % better
    let res = check(&r, &b, 0.02, "b");
    assert!(res.passed);
    assert_eq!(res.items.iter().find(|i| i.name == "operator #0 CONV_2D").unwrap().status, Status::Improved);
    assert!(res.notes.iter().any(|n| n.contains("operator #0 CONV_2D") && n.contains("-9.09 %")), "{:?}", res.notes);
    b.operators[0].cycles = 10_100; // 1 % better: within tolerance
    assert_eq!(check(&r, &b, 0.02, "b").items.iter().find(|i| i.name == "operator #0 CONV_2D").unwrap().status, Status::Ok);
}

#[test]
fn operator_list_changes_fail_and_missing_functions_are_notes() {
    let r = kws();
    let mut b = Budgets::from_report(&r);
    b.operators[2].op = "LOGISTIC".into();
    b.operators.push(OperatorBudget { index: 7, op: "ADD".into(), invocation: 0, cycles: 5 });
    b.functions.insert("old_kernel".into(), 1234);
    b.functions.remove("kernel_conv_2d");
    let res = check(&r, &b, 0.0, "b");
    let st = |n: &str| res.items.iter().find(|i| i.name == n).unwrap().status;
    assert_eq!(st("operator #2 LOGISTIC"), Status::Changed);
    assert_eq!(st("operator #7 ADD"), Status::Missing);
    assert_eq!(st("function old_kernel"), Status::Gone);
    assert_eq!(res.failures, 2);
    b.operators.truncate(2);
    let res = check(&r, &b, 0.0, "b");
    assert_eq!(res.items.iter().find(|i| i.name == "operator #2 SOFTMAX").unwrap().status, Status::New);
    // A run without a function profile fails once, not per function.
    let mut r2 = r.clone();
    r2.functions.clear();
    let res = check(&r2, &Budgets::from_report(&r), 0.0, "b");
    assert_eq!(res.failures, 1);
    assert_eq!(res.items.last().unwrap().name, "functions");
}

#[test]
fn failed_runs_fail_the_check() {
    let mut r = kws();
    let b = Budgets::from_report(&r);
    r.outcome = simbench_profiles::report::Outcome { kind: "exit".into(), exit_status: Some(3), message: None, pc: None, symbol: None };
    let res = check(&r, &b, 0.0, "b");
    assert!(!res.passed);
    assert_eq!(res.items[0].status, Status::RunFailed);
}

#[test]
fn bad_baselines_are_clear_errors() {
    for (text, want) in [
        ("{", "not valid JSON"),
        ("{\"schema\": \"simbench.budgets/9\"}", "has schema 'simbench.budgets/9'"),
        ("[1,2]", "no \"schema\""),
        ("{\"schema\": \"simbench.budgets/1\", \"firmware\": \"x\"}", "not a valid simbench.budgets/1 file"),
    ] {
        let e = Budgets::parse(text, "b.json").unwrap_err();
        assert_eq!(exit::of_error(&e), exit::BAD_INPUT);
        assert!(e.to_string().contains(want), "{e}");
    }
    let e = Budgets::load(Path::new("/nonexistent/budgets.json")).unwrap_err();
    assert!(e.to_string().contains("cannot read baseline") && e.to_string().contains("--write-baseline"), "{e}");
}

#[test]
fn xml_and_markdown_escape_names() {
    assert_eq!(xml_escape("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos; ");
    assert_eq!(md_escape("operator|(a)"), "operator\\|(a)");
}
