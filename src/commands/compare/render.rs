//! A comparison as a text table, JSON (`simbench.compare/1`) or CSV.

use super::*;

pub(super) fn opt_u64(v: Option<u64>) -> String {
    v.map(group).unwrap_or_else(|| "-".into())
}

pub(super) fn opt_ratio(v: Option<f64>) -> String {
    v.map(|r| format!("{r:.3}")).unwrap_or_else(|| "-".into())
}

pub(super) fn opt_share(v: Option<f64>) -> String {
    v.map(|s| format!("{:.1} %", s * 100.0)).unwrap_or_else(|| "-".into())
}

pub(super) fn side_line(label: &str, s: &Side) -> String {
    let source = match s.profile_source.as_deref() {
        Some("functions") => "function profile only".to_string(),
        Some(src) => format!("operators from {src}"),
        None => "no profile".into(),
    };
    format!(
        "  {label}  {} on {} (Cortex-{}, {} MHz, {} timing), {}, {}\n",
        s.firmware,
        s.board,
        s.core.to_uppercase(),
        s.clock_mhz,
        s.timing,
        source,
        s.outcome
    )
}

/// Truncate a name for a fixed-width column (the JSON and CSV keep it whole).
pub(super) fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

pub fn text(c: &Comparison) -> String {
    let mut s = String::from("simbench compare (ratios are B/A)\n");
    s.push_str(&side_line("A", &c.a));
    s.push_str(&side_line("B", &c.b));
    s.push('\n');
    let multi = c.operators.iter().any(|p| p.invocation > 0);
    match c.basis.as_str() {
        "operators" => {
            let _ = writeln!(s, "  {:>5}  {:<24} {:>14} {:>8} {:>14} {:>8} {:>8}", "#", "op", "A cycles", "A share", "B cycles", "B share", "B/A");
            for p in &c.operators {
                let idx = if multi { format!("{}:{}", p.invocation, p.index) } else { p.index.to_string() };
                let op = p.op_a.as_deref().or(p.op_b.as_deref()).unwrap_or("");
                let flag = match p.matched {
                    Match::Same => String::new(),
                    Match::OpDiffers => {
                        format!("  ! op differs: B runs {}", p.op_b.as_deref().unwrap_or(""))
                    }
                    Match::OnlyA => "  ! only in A".into(),
                    Match::OnlyB => "  ! only in B".into(),
                };
                let _ = writeln!(
                    s,
                    "  {:>5}  {:<24} {:>14} {:>8} {:>14} {:>8} {:>8}{}",
                    idx,
                    fit(op, 24),
                    opt_u64(p.cycles.a),
                    opt_share(p.share.a),
                    opt_u64(p.cycles.b),
                    opt_share(p.share.b),
                    opt_ratio(p.cycles.ratio),
                    flag
                );
            }
            s.push('\n');
        }
        "functions" => {
            let _ = writeln!(s, "  {:<48} {:>14} {:>14} {:>8}   (exclusive cycles, top {TOP_FUNCTIONS})", "function", "A cycles", "B cycles", "B/A");
            for f in &c.functions {
                // C++ names shortened, never cut: a long one gets a line of its own.
                let (cell, own_line) = simbench_profiles::render::name_cell(&f.name, 48);
                if let Some(line) = own_line {
                    let _ = writeln!(s, "  {line}");
                }
                let _ = writeln!(
                    s,
                    "  {:<48} {:>14} {:>14} {:>8}",
                    cell,
                    opt_u64(f.exclusive_cycles.a),
                    opt_u64(f.exclusive_cycles.b),
                    opt_ratio(f.exclusive_cycles.ratio)
                );
            }
            s.push('\n');
        }
        _ => {}
    }
    let t = &c.totals;
    let _ = writeln!(s, "  {:<31} {:>14}          {:>14}          {:>8}", "", "A", "B", "B/A");
    let cyc = |s: &mut String, name: &str, p: &Pair<u64>| {
        let _ = writeln!(s, "  {:<31} {:>14}          {:>14}          {:>8}", name, opt_u64(p.a), opt_u64(p.b), opt_ratio(p.ratio));
    };
    if c.basis == "operators" {
        cyc(&mut s, "operators (sum of rows)", &t.operator_cycles);
        cyc(&mut s, "overhead", &t.overhead_cycles);
    }
    cyc(&mut s, "inference cycles", &t.inference_cycles);
    cyc(&mut s, "whole run cycles", &t.run_cycles);
    let fl = |v: Option<f64>, unit: &str| v.map(|x| format!("{x:.3} {unit}")).unwrap_or_else(|| "-".into());
    let _ = writeln!(
        s,
        "  {:<31} {:>17}       {:>17}       {:>8}",
        "latency per inference",
        fl(t.latency_ms.a, "ms"),
        fl(t.latency_ms.b, "ms"),
        opt_ratio(t.latency_ms.ratio)
    );
    let _ = writeln!(
        s,
        "  {:<31} {:>14}          {:>14}          {:>8}",
        "inferences per second",
        t.inferences_per_second.a.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into()),
        t.inferences_per_second.b.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into()),
        opt_ratio(t.inferences_per_second.ratio)
    );
    if let Some(g) = &c.ranges {
        super::ranges::text(&mut s, g);
    }
    if !c.notes.is_empty() {
        s.push('\n');
        for n in &c.notes {
            let _ = writeln!(s, "  note: {n}");
        }
    }
    s
}

pub fn json(c: &Comparison) -> String {
    serde_json::to_string_pretty(c).expect("comparisons serialise") + "\n"
}

/// A CSV field, quoted when it holds a comma, quote or line break.
pub(super) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV: `section,invocation,index,name_a,name_b,kernel_a,kernel_b,a,b,ratio_b_a,match`;
/// sections `operator`, `function` (exclusive cycles) and `total`.
pub fn csv(c: &Comparison) -> String {
    let mut s = String::from("section,invocation,index,name_a,name_b,kernel_a,kernel_b,a,b,ratio_b_a,match\n");
    let u = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
    let f = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
    for p in &c.operators {
        let cols = [
            "operator".to_string(),
            p.invocation.to_string(),
            p.index.to_string(),
            csv_field(p.op_a.as_deref().unwrap_or("")),
            csv_field(p.op_b.as_deref().unwrap_or("")),
            csv_field(p.kernel_a.as_deref().unwrap_or("")),
            csv_field(p.kernel_b.as_deref().unwrap_or("")),
            u(p.cycles.a),
            u(p.cycles.b),
            f(p.cycles.ratio),
            p.matched.name().to_string(),
        ];
        s.push_str(&cols.join(","));
        s.push('\n');
    }
    for fp in &c.functions {
        let name = csv_field(&fp.name);
        let cols = [
            "function".to_string(),
            String::new(),
            String::new(),
            name.clone(),
            name,
            String::new(),
            String::new(),
            u(fp.exclusive_cycles.a),
            u(fp.exclusive_cycles.b),
            f(fp.exclusive_cycles.ratio),
            String::new(),
        ];
        s.push_str(&cols.join(","));
        s.push('\n');
    }
    let t = &c.totals;
    let mut total = |name: &str, a: String, b: String, r: Option<f64>| {
        let _ = writeln!(s, "total,,,{name},{name},,,{a},{b},{},", f(r));
    };
    if c.basis == "operators" {
        total("operator_cycles", u(t.operator_cycles.a), u(t.operator_cycles.b), t.operator_cycles.ratio);
        total("overhead_cycles", u(t.overhead_cycles.a), u(t.overhead_cycles.b), t.overhead_cycles.ratio);
    }
    total("inference_cycles", u(t.inference_cycles.a), u(t.inference_cycles.b), t.inference_cycles.ratio);
    total("run_cycles", u(t.run_cycles.a), u(t.run_cycles.b), t.run_cycles.ratio);
    total("latency_ms", f(t.latency_ms.a), f(t.latency_ms.b), t.latency_ms.ratio);
    total("inferences_per_second", f(t.inferences_per_second.a), f(t.inferences_per_second.b), t.inferences_per_second.ratio);
    for (name, a, b, r) in c.ranges.iter().flat_map(super::ranges::csv_rows) {
        let _ = writeln!(s, "total,,,{name},{name},,,{a},{b},{r},");
    }
    s
}

pub fn render(c: &Comparison, format: CompareFormat) -> String {
    match format {
        CompareFormat::Text => text(c),
        CompareFormat::Json => json(c),
        CompareFormat::Csv => csv(c),
    }
}
