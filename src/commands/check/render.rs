//! A check's result as text, JUnit XML and a Markdown summary.

use super::*;

pub(super) fn opt(v: Option<u64>) -> String {
    v.map(group).unwrap_or_else(|| "-".into())
}

/// The text report.
pub fn text(r: &CheckResult) -> String {
    let mut s = String::new();
    let _ =
        writeln!(s, "simbench check: {} on {} ({} timing) against {}, tolerance {}", r.firmware, r.board, r.timing, r.baseline, tolerance_text(r.tolerance));
    let _ = writeln!(s, "  {:<8} {:<44} {:>14} {:>14} {:>14} {:>10}", "status", "item", "cycles", "budget", "limit", "change");
    for it in &r.items {
        let change = it.change.map(pct).unwrap_or_else(|| "-".into());
        let name = if it.name.chars().count() > 44 { it.name.chars().take(43).collect::<String>() + "…" } else { it.name.clone() };
        let _ = writeln!(s, "  {:<8} {:<44} {:>14} {:>14} {:>14} {:>10}", it.status.label(), name, opt(it.actual), opt(it.budget), opt(it.limit), change);
    }
    let failing: Vec<&Item> = r.items.iter().filter(|i| i.status.is_failure()).collect();
    if !failing.is_empty() {
        s.push_str("\nviolations:\n");
        for it in &failing {
            let _ = writeln!(s, "  {}", it.message);
        }
    }
    if !r.notes.is_empty() {
        s.push('\n');
        for n in &r.notes {
            let _ = writeln!(s, "  note: {n}");
        }
    }
    s.push('\n');
    if r.passed {
        let _ = writeln!(s, "PASSED: {} budget items within {} tolerance", r.items.len(), tolerance_text(r.tolerance));
    } else {
        let names: Vec<&str> = failing.iter().map(|i| i.name.as_str()).collect();
        let _ = writeln!(s, "FAILED: {} of {} budget items: {}", r.failures, r.items.len(), names.join(", "));
    }
    s
}

/// JUnit XML: one test case per budget item, a `<failure>` on each failing one.
pub fn junit(r: &CheckResult) -> String {
    let suite = format!("simbench check {} on {}", r.firmware, r.board);
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(s, "<testsuites name=\"simbench check\" tests=\"{}\" failures=\"{}\" errors=\"0\">", r.items.len(), r.failures);
    let _ = writeln!(s, "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">", xml_escape(&suite), r.items.len(), r.failures);
    let _ = writeln!(s, "    <properties>");
    for (k, v) in [("firmware", r.firmware.as_str()), ("board", r.board.as_str()), ("timing", r.timing.as_str()), ("baseline", r.baseline.as_str())] {
        let _ = writeln!(s, "      <property name=\"{k}\" value=\"{}\"/>", xml_escape(v));
    }
    let _ = writeln!(s, "      <property name=\"tolerance\" value=\"{}\"/>", r.tolerance);
    let _ = writeln!(s, "    </properties>");
    for it in &r.items {
        let class = format!("simbench.{}", it.kind);
        if it.status.is_failure() {
            let _ = writeln!(s, "    <testcase classname=\"{}\" name=\"{}\">", xml_escape(&class), xml_escape(&it.name));
            let kind = match it.status {
                Status::Exceeded => "budget-exceeded",
                Status::Missing => "missing",
                Status::Changed => "operator-changed",
                Status::New => "operator-not-in-baseline",
                _ => "run-failed",
            };
            let _ = writeln!(s, "      <failure type=\"{kind}\" message=\"{}\">{}</failure>", xml_escape(&it.message), xml_escape(&it.message));
            let _ = writeln!(s, "    </testcase>");
        } else if matches!(it.status, Status::Improved | Status::Gone) {
            let _ = writeln!(s, "    <testcase classname=\"{}\" name=\"{}\">", xml_escape(&class), xml_escape(&it.name));
            let _ = writeln!(s, "      <system-out>{}</system-out>", xml_escape(&it.message));
            let _ = writeln!(s, "    </testcase>");
        } else {
            let _ = writeln!(s, "    <testcase classname=\"{}\" name=\"{}\"/>", xml_escape(&class), xml_escape(&it.name));
        }
    }
    let _ = writeln!(s, "  </testsuite>");
    s.push_str("</testsuites>\n");
    s
}

pub(super) fn md_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace('`', "\\`").replace('<', "&lt;").replace('>', "&gt;").replace('\n', " ")
}

/// A Markdown summary for CI (GitHub step summary).
pub fn markdown(r: &CheckResult) -> String {
    let mut s = String::new();
    let verdict = if r.passed { "✅ passed".to_string() } else { format!("❌ {} budget item(s) failed", r.failures) };
    let _ = writeln!(s, "### simbench check: {verdict}\n");
    let _ = writeln!(
        s,
        "`{}` on `{}` ({} timing) against `{}`, tolerance {}.\n",
        md_escape(&r.firmware),
        md_escape(&r.board),
        md_escape(&r.timing),
        md_escape(&r.baseline),
        tolerance_text(r.tolerance)
    );
    let failing: Vec<&Item> = r.items.iter().filter(|i| i.status.is_failure()).collect();
    if !failing.is_empty() {
        s.push_str("**Violations**\n\n");
        for it in &failing {
            let _ = writeln!(s, "- {}", md_escape(&it.message));
        }
        s.push('\n');
    }
    if !r.notes.is_empty() {
        s.push_str("**Notes**\n\n");
        for n in &r.notes {
            let _ = writeln!(s, "- {}", md_escape(n));
        }
        s.push('\n');
    }
    let _ = writeln!(s, "<details{}><summary>All {} budget items</summary>\n", if failing.is_empty() { "" } else { " open" }, r.items.len());
    s.push_str("| status | item | cycles | budget | limit | change |\n|---|---|---:|---:|---:|---:|\n");
    for it in &r.items {
        let status = match it.status {
            Status::Ok => "✅ ok",
            Status::Improved => "🟢 better",
            Status::Gone => "⚪ gone",
            Status::Exceeded => "❌ exceeded",
            Status::Missing => "❌ missing",
            Status::Changed => "❌ changed",
            Status::New => "❌ new",
            Status::RunFailed => "❌ run failed",
        };
        let change = it.change.map(pct).unwrap_or_else(|| "-".into());
        let _ = writeln!(s, "| {status} | {} | {} | {} | {} | {change} |", md_escape(&it.name), opt(it.actual), opt(it.budget), opt(it.limit));
    }
    s.push_str("\n</details>\n");
    s.push('\n');
    s
}
