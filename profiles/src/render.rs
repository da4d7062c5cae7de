//! Renderers: the same report as a readable table, JSON, CSV, folded stacks, a flame graph
//! SVG or a Chrome trace (the last four in `export.rs`).

use crate::export;
use crate::report::Report;
use std::fmt::Write;

/// Output formats of `simbench run` (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Readable table (default).
    Text,
    /// The versioned JSON report (docs/report-schema.md).
    Json,
    /// One row per operator (or per function when there are no operators).
    Csv,
    /// Brendan Gregg folded stacks: `root;child;leaf <exclusive_cycles>`.
    Folded,
    /// Flame graph (`flamegraph.rs`, simbench's own SVG writer) of the call tree.
    Svg,
    /// Chrome Trace Event JSON on the modelled time axis (Perfetto, chrome://tracing).
    Trace,
}

impl Format {
    /// The names `parse` accepts (`table` is an alias of `text`), for help and errors.
    pub const NAMES: &'static str = "text|table, json, csv, folded, svg, trace";

    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "text" | "table" => Some(Format::Text),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "folded" => Some(Format::Folded),
            "svg" => Some(Format::Svg),
            "trace" => Some(Format::Trace),
            _ => None,
        }
    }

    /// Formats read by programs: firmware output echoed while the run goes must not be
    /// mixed into them on standard output.
    pub fn is_machine_readable(self) -> bool {
        self != Format::Text
    }
}

pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => json(report),
        Format::Csv => export::csv(report),
        Format::Folded => export::folded(report),
        Format::Svg => export::svg(report),
        Format::Trace => export::chrome_trace(report),
    }
}

pub fn json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("reports serialise");
    s.push('\n');
    s
}

/// Thousands separators for big counts.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A low–high time in the unit of the larger end: `150.213–230.900 ms`.
fn latency_span(low_us: f64, high_us: f64) -> String {
    let (div, unit) = if high_us.max(low_us) >= 1000.0 { (1000.0, "ms") } else { (1.0, "µs") };
    format!("{:.3}–{:.3} {unit}", low_us / div, high_us / div)
}

/// What the range under the cycles and latency lines rests on: the ranged board values,
/// and a note when part of the range is missing.
fn range_lines(s: &mut String, g: &crate::report::EstimateRange) {
    let items: Vec<String> = g.assumptions.iter().map(|a| format!("{} {} [{}–{}]", a.path, a.value, a.low, a.high)).collect();
    wrap(s, "  ", "range         low–high: re-timed with these assumptions at each end:", &items);
    if let Some(n) = &g.note {
        words(s, "  range note   ", "               ", n);
    }
}

fn latency(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.3} ms", us / 1000.0)
    } else {
        format!("{us:.3} µs")
    }
}

pub fn text(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "simbench {} — {} on {} (Cortex-{}, {} MHz)",
        r.simbench_version,
        r.firmware.file,
        r.board.name,
        r.board.core.to_uppercase(),
        r.board.clock_mhz
    );
    let outcome = match r.outcome.kind.as_str() {
        "exit" => format!("exited with status {}", r.outcome.exit_status.unwrap_or(0)),
        other => format!("{other}: {}", r.outcome.message.as_deref().unwrap_or("")),
    };
    for m in &r.board.mapped_for_image {
        let _ = writeln!(s, "  mapped        {m} (zero-wait, by --core for this image)");
    }
    let _ = writeln!(s, "  outcome       {outcome}");
    let _ = writeln!(s, "  instructions  {}", group(r.instructions));
    let range = r.range.as_ref();
    let cycles_range = range.and_then(|g| g.cycles).map(|b| format!(" ({}–{})", group(b.low), group(b.high))).unwrap_or_default();
    let _ = writeln!(s, "  cycles        {}{cycles_range}   ({} timing model, {} mode)", group(r.cycles), r.timing.model, r.timing.mode);
    let _ = writeln!(s, "  CPI           {:.3}", r.cpi);
    let latency_range = range.and_then(|g| g.latency_us).map(|b| format!(" ({})", latency_span(b.low, b.high))).unwrap_or_default();
    let _ = writeln!(s, "  latency       {}{latency_range} at {} MHz", latency(r.latency_us), r.board.clock_mhz);
    if let Some(g) = range {
        range_lines(&mut s, g);
    }
    for (i, what) in r.timing.fast_ignores.iter().enumerate() {
        let _ = writeln!(s, "  {:<13} {what}", if i == 0 { "fast ignores" } else { "" });
    }
    let _ = writeln!(
        s,
        "\n  {:<20} {:<18} {:>14} {:>10} {:>12} {:>12} {:>10}",
        "region", "kind", "insn fetched", "fetch ws", "data reads", "data writes", "data ws"
    );
    for g in &r.regions {
        let opt = |v: Option<u64>| v.map(group).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "  {:<20} {:<18} {:>14} {:>10} {:>12} {:>12} {:>10}",
            g.name,
            g.kind,
            group(g.instructions_fetched),
            group(g.fetch_wait_cycles),
            opt(g.data_reads),
            opt(g.data_writes),
            group(g.data_wait_cycles)
        );
    }
    let _ = writeln!(s, "  (data accesses are counted only where hooked: '-' = zero-wait, not counted; --count-accesses counts all)");
    let caches: Vec<String> = [("I-cache", r.timing.icache), ("D-cache", r.timing.dcache)]
        .iter()
        .filter_map(|(n, c)| c.map(|c| format!("{n} {} hits / {} misses", group(c.hits), group(c.misses))))
        .chain(r.timing.branch_predictor.map(|p| format!("branch predictor {} branches / {} mispredicted", group(p.branches), group(p.mispredicted))))
        .collect();
    if !caches.is_empty() {
        wrap(&mut s, "  ", "", &caches);
    }
    if !r.instruction_mix.is_empty() {
        let mut mix: Vec<_> = r.instruction_mix.iter().collect();
        mix.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let line: Vec<String> = mix.iter().take(8).map(|(k, v)| format!("{k} {}", group(**v))).collect();
        let _ = writeln!(s);
        wrap(&mut s, "  ", "instruction mix:", &line);
    }
    crate::stalls::placements_text(&mut s, &r.placements);
    profile_sections(&mut s, r);
    if let Some(st) = &r.stalls {
        crate::stalls::stalls_text(&mut s, st);
    }
    if !r.markers.is_empty() {
        let _ =
            writeln!(s, "\n  markers ({}{}):", r.markers.len(), if r.markers_dropped > 0 { format!(", {} dropped", r.markers_dropped) } else { String::new() });
        for m in r.markers.iter().take(20) {
            let _ = writeln!(s, "    port {:>2}  value {:>10}  at cycle {:>14}  pc {}", m.port, m.value, group(m.cycles), m.pc);
        }
        if r.markers.len() > 20 {
            let _ = writeln!(s, "    … {} more in --format json", r.markers.len() - 20);
        }
    }
    if !r.configuration.is_empty() {
        let _ = writeln!(s, "\n  configured by the firmware (vendor registers):");
        for c in &r.configuration {
            let _ = writeln!(s, "    cycle {:>14}  {:<24} {}", group(c.cycle), c.register, c.setting);
        }
    }
    if let Some(e) = &r.exceptions {
        let taken: Vec<String> = e.taken.iter().map(|x| format!("{} {}", x.name, x.taken)).collect();
        let _ = writeln!(s, "\n  exceptions    {} (tail-chained {}, lazy FP saves {})", taken.join(", "), e.tail_chains, e.lazy_fp_saves);
    }
    if !r.semihosting_notes.is_empty() {
        let _ = writeln!(s, "\n  semihosting requests refused ({}):", r.semihosting_notes.len());
        for n in r.semihosting_notes.iter().take(SEMIHOSTING_NOTES_SHOWN) {
            words(&mut s, "    ", "      ", n);
        }
        if r.semihosting_notes.len() > SEMIHOSTING_NOTES_SHOWN {
            let _ = writeln!(s, "    … {} more in --format json", r.semihosting_notes.len() - SEMIHOSTING_NOTES_SHOWN);
        }
    }
    if !r.unmodelled_registers.is_empty() {
        let regs: Vec<String> = r.unmodelled_registers.iter().map(|a| format!("{} (r{} w{})", a.address, a.reads, a.writes)).collect();
        let _ = writeln!(s);
        wrap(&mut s, "  ", "system registers kept as plain storage:", &regs);
    }
    let _ = writeln!(
        s,
        "\n  host (varies between runs): {:.3} s wall, {:.1} simulated MIPS, {} blocks decoded",
        r.host.wall_seconds, r.host.simulated_mips, r.host.blocks_decoded
    );
    s
}

/// Width of the text report: tables are cut or wrapped to stay within it.
const WIDTH: usize = 120;
/// Semihosting notes the text report lists (JSON has them all).
const SEMIHOSTING_NOTES_SHOWN: usize = 10;

/// The text report for a terminal `columns` wide: lines longer than that are cut, the
/// last character an ellipsis. (Reports written to files and pipes keep their full
/// width, so they stay byte-identical.)
pub fn fit_lines(text: &str, columns: usize) -> String {
    text.lines().map(|l| fit(l, columns.max(20))).collect::<Vec<_>>().join("\n") + if text.ends_with('\n') { "\n" } else { "" }
}

/// `s` cut to `n` characters, the last one an ellipsis when something was cut.
fn fit(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A function name for a table: a C++ parameter list shortened to `(…)` and a leading
/// anonymous namespace dropped, e.g. `libjit_conv2d_generic<signed char, int>(…)` for
/// `(anonymous namespace)::libjit_conv2d_generic<signed char, int>(signed char*, …)`.
/// The JSON report keeps every name whole.
pub fn short_name(s: &str) -> String {
    let s = s.strip_prefix("(anonymous namespace)::").unwrap_or(s);
    match parameter_list(s) {
        Some((open, close)) if close > open + 1 => format!("{}(…){}", &s[..open], &s[close + 1..]),
        _ => s.to_string(),
    }
}

/// Byte positions of the parentheses around a C++ function's parameter list: the last
/// balanced `(…)` group of the name (qualifiers such as ` const` may follow it). Groups
/// inside, such as `(anonymous namespace)` or a function-pointer parameter, are skipped.
fn parameter_list(s: &str) -> Option<(usize, usize)> {
    let close = s.rfind(')')?;
    let mut depth = 0u32;
    for (i, c) in s[..=close].char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    return Some((i, close));
                }
            }
            _ => {}
        }
    }
    None
}

/// A function name in a column of `width` characters: whole when it fits, else shortened
/// ([`short_name`]); when even that does not fit, the column is blank and the second value
/// is the shortened name, for a line of its own above the row (names are never cut).
pub fn name_cell(name: &str, width: usize) -> (String, Option<String>) {
    if name.chars().count() <= width {
        return (name.to_string(), None);
    }
    let short = short_name(name);
    if short.chars().count() <= width {
        (short, None)
    } else {
        (String::new(), Some(fit(&short, WIDTH - 2)))
    }
}

/// Low and high against the point estimate, in percent: `-49.9%/+3.1%`.
fn relative_span(low: u64, high: u64, point: u64) -> String {
    if point == 0 {
        return "-".into();
    }
    let rel = |v: u64| (v as f64 - point as f64) * 100.0 / point as f64;
    format!("{:+.1}%/{:+.1}%", rel(low), rel(high))
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// `text` wrapped at word boundaries within `WIDTH`: the first line after `indent`, the
/// others after `more`.
fn words(s: &mut String, indent: &str, more: &str, text: &str) {
    let mut line = indent.to_string();
    let mut empty = true;
    for w in text.split(' ') {
        if !empty && line.chars().count() + 1 + w.chars().count() > WIDTH {
            let _ = writeln!(s, "{line}");
            line = more.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(w);
        empty = false;
    }
    let _ = writeln!(s, "{line}");
}

/// Items joined by ", " in lines of at most `WIDTH` characters, each starting with `indent`.
fn wrap(s: &mut String, indent: &str, first: &str, items: &[String]) {
    let mut line = format!("{indent}{first}");
    let mut empty = first.is_empty();
    for (i, it) in items.iter().enumerate() {
        let sep = if i + 1 < items.len() { "," } else { "" };
        if !empty && line.chars().count() + 1 + it.chars().count() + sep.len() > WIDTH {
            let _ = writeln!(s, "{line}");
            line = format!("{indent}  ");
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(it);
        line.push_str(sep);
        empty = false;
    }
    let _ = writeln!(s, "{line}");
}

/// Operators (with the profile summary), top functions and memory, when the report has them.
fn profile_sections(s: &mut String, r: &Report) {
    if let Some(p) = &r.profile {
        let us = |c: u64| latency(c as f64 / r.board.clock_mhz);
        let head = format!("profile: {} ({} inference{}):", p.source, p.inferences, if p.inferences == 1 { "" } else { "s" });
        let inference_range = r
            .range
            .as_ref()
            .and_then(|g| g.inference_cycles)
            .map(|b| {
                format!(", range {}–{} ({})", group(b.low), group(b.high), latency_span(b.low as f64 / r.board.clock_mhz, b.high as f64 / r.board.clock_mhz))
            })
            .unwrap_or_default();
        let items = [
            format!("inference {} cycles ({}){inference_range}", group(p.inference_cycles), us(p.inference_cycles)),
            format!("operators {} ({})", group(p.operator_cycles), pct(p.operator_cycles, p.inference_cycles)),
            format!("overhead {} ({})", group(p.overhead_cycles), pct(p.overhead_cycles, p.inference_cycles)),
        ];
        let mut items = items.to_vec();
        if let Some(c) = p.instrumentation_cycles {
            items.push(format!("instrumentation {} ({})", group(c), pct(c, p.inference_cycles)));
        }
        let _ = writeln!(s);
        wrap(s, "  ", &head, &items);
        for n in &p.notes {
            let words: Vec<String> = n.split(' ').map(String::from).collect();
            wrap_sep(s, "    note: ", "          ", &words, " ");
        }
    }
    if !r.operators.is_empty() {
        operator_table(s, r);
        kernel_breakdown(s, r);
    }
    if !r.functions.is_empty() {
        function_table(s, r);
    }
    if let Some(m) = &r.memory {
        let opt_bytes = |v: Option<u64>| v.map(|b| format!("{} B", group(b))).unwrap_or_else(|| "-".into());
        let mut items = vec![
            format!("flash {} B", group(m.flash_bytes)),
            format!("RAM {} B", group(m.ram_bytes)),
            format!("stack peak {}", opt_bytes(m.stack_peak_bytes)),
            format!("heap {}", opt_bytes(m.heap_used_bytes)),
        ];
        if let Some(a) = &m.arena {
            items.push(format!("arena {} used {} of {} B ({})", a.name, group(a.used_bytes), group(a.size), pct(a.used_bytes, a.size)));
        }
        let _ = writeln!(s);
        wrap(s, "  ", "memory:", &items);
        if !m.sections.is_empty() {
            let secs: Vec<String> = m.sections.iter().map(|c| format!("{} {} B ({}, {})", c.name, group(c.bytes), c.region, c.kind)).collect();
            wrap(s, "    ", "sections:", &secs);
        }
    }
}

/// Most operator rows printed in the text table (the rest: CSV or JSON).
const MAX_OPERATOR_ROWS: usize = 200;

fn operator_table(s: &mut String, r: &Report) {
    let ops = &r.operators;
    let multi = ops.iter().any(|o| o.invocation > 0);
    let inv_w = if multi { 5 } else { 0 };
    // 2 + idx 4 + 2 + op 23 + cycles 14 + share 7 + MACs 12 + cyc/MAC 8 + latency 11 + 2 = 85.
    let shapes_w = WIDTH.saturating_sub(85 + inv_w).max(16);
    let inv_head = if multi { format!("{:>4} ", "inv") } else { String::new() };
    // The estimate's range per row, as low/high relative to the row's cycles.
    let ranges = r.range.as_ref().map(|g| &g.operators).filter(|b| b.len() == ops.len());
    let range_w = if ranges.is_some() { 16 } else { 0 };
    let shapes_w = shapes_w.saturating_sub(range_w).max(16);
    let range_head = if ranges.is_some() { format!(" {:>15}", "range low/high") } else { String::new() };
    // The header keeps to the width the rows are cut to.
    let shapes_head = if shapes_w >= 26 { "shapes (inputs -> outputs)" } else { "shapes" };
    let _ = writeln!(
        s,
        "\n  operators ({}):\n  {:>4}  {inv_head}{:<22} {:>13}{range_head} {:>6} {:>11} {:>7} {:>11}  {shapes_head}",
        ops.len(),
        "#",
        "op",
        "cycles",
        "share",
        "MACs",
        "cyc/MAC",
        "latency"
    );
    for (i, o) in ops.iter().enumerate().take(MAX_OPERATOR_ROWS) {
        let range_cell = ranges.map(|b| format!(" {:>15}", relative_span(b[i].low, b[i].high, o.cycles))).unwrap_or_default();
        let inv = if multi { format!("{:>4} ", o.invocation) } else { String::new() };
        let shapes = if o.inputs.is_empty() && o.outputs.is_empty() {
            String::new()
        } else {
            let list = |l: &[Vec<i32>]| l.iter().map(|d| crate::export::shape(d)).collect::<Vec<_>>().join(" ");
            format!("{} -> {}", list(&o.inputs), list(&o.outputs))
        };
        let row = format!(
            "  {:>4}  {inv}{:<22} {:>13}{range_cell} {:>6} {:>11} {:>7} {:>11}  {}",
            o.index,
            fit(&o.op, 22),
            group(o.cycles),
            format!("{:.1}%", o.share * 100.0),
            o.macs.map(group).unwrap_or_else(|| "-".into()),
            o.cycles_per_mac.map(|c| format!("{c:.3}")).unwrap_or_else(|| "-".into()),
            latency(o.latency_us),
            fit(&shapes, shapes_w)
        );
        let _ = writeln!(s, "{}", row.trim_end());
    }
    if ops.len() > MAX_OPERATOR_ROWS {
        let _ = writeln!(s, "  {:>4}  … {} more rows in --format csv or json", "", ops.len() - MAX_OPERATOR_ROWS);
    }
    let cycles: u64 = ops.iter().map(|o| o.cycles).sum();
    let share: f64 = ops.iter().map(|o| o.share).sum();
    let macs: u64 = ops.iter().filter_map(|o| o.macs).sum();
    let mac_cycles: u64 = ops.iter().filter(|o| o.macs.is_some()).map(|o| o.cycles).sum();
    let latency_us: f64 = ops.iter().map(|o| o.latency_us).sum();
    let total_range =
        ranges.map(|b| format!(" {:>15}", relative_span(b.iter().map(|x| x.low).sum(), b.iter().map(|x| x.high).sum(), cycles))).unwrap_or_default();
    let _ = writeln!(
        s,
        "  {:>4}  {inv_head_blank}{:<22} {:>13}{total_range} {:>6} {:>11} {:>7} {:>11}",
        "",
        "total",
        group(cycles),
        format!("{:.1}%", share * 100.0),
        if macs > 0 { group(macs) } else { "-".into() },
        if macs > 0 { format!("{:.3}", mac_cycles as f64 / macs as f64) } else { "-".into() },
        latency(latency_us),
        inv_head_blank = " ".repeat(inv_w)
    );
}

/// Functions listed in the text table.
const TOP_FUNCTIONS: usize = 20;

fn function_table(s: &mut String, r: &Report) {
    let mut fs: Vec<_> = r.functions.iter().collect();
    fs.sort_by(|a, b| b.exclusive_cycles.cmp(&a.exclusive_cycles).then(a.name.cmp(&b.name)));
    let shown = fs.len().min(TOP_FUNCTIONS);
    let _ = writeln!(
        s,
        "\n  functions (top {shown} of {} by exclusive cycles; % of all {} cycles):\n  {:<52} {:>13} {:>6} {:>13} {:>6} {:>9} {:>13}",
        fs.len(),
        group(r.cycles),
        "function",
        "exclusive",
        "%",
        "inclusive",
        "%",
        "calls",
        "instructions"
    );
    for f in fs.iter().take(shown) {
        let (cell, own_line) = name_cell(&f.name, 52);
        if let Some(line) = own_line {
            let _ = writeln!(s, "  {line}");
        }
        let row = format!(
            "  {:<52} {:>13} {:>6} {:>13} {:>6} {:>9} {:>13}",
            cell,
            group(f.exclusive_cycles),
            pct(f.exclusive_cycles, r.cycles),
            group(f.inclusive_cycles),
            pct(f.inclusive_cycles, r.cycles),
            group(f.calls),
            group(f.instructions)
        );
        let _ = writeln!(s, "{row}");
    }
}

/// Operators given a kernel breakdown in the text report (the first inference).
const MAX_BREAKDOWN_ROWS: usize = 60;

/// Functions named per operator in the text breakdown.
const BREAKDOWN_FUNCTIONS: usize = 5;

/// Per operator of the first inference: the call path to the function that spent the most
/// cycles (below the dispatcher: the TFLM operator loop or the bundle entry), then the
/// functions by their share of the operator's cycles.
fn kernel_breakdown(s: &mut String, r: &Report) {
    let ops: Vec<_> = r.operators.iter().filter(|o| o.invocation == 0 && !o.kernels.is_empty() && o.cycles > 0).collect();
    if ops.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n  kernels by operator (first inference: the hottest call path, then the functions by share of the operator):");
    let op_w = ops.iter().take(MAX_BREAKDOWN_ROWS).map(|o| o.op.chars().count()).max().unwrap_or(0).min(22);
    for o in ops.iter().take(MAX_BREAKDOWN_ROWS) {
        let top = &o.kernels[0];
        let below: Vec<String> = top.path.iter().skip(1).map(|n| short_name(n)).collect();
        let chain = if below.is_empty() { format!("{} (own code)", short_name(&top.function)) } else { below.join(" → ") };
        let head = format!("  {:>4}  {:<op_w$}  ", o.index, fit(&o.op, op_w));
        let indent = " ".repeat(head.chars().count());
        wrap_sep(s, &head, &indent, &chain.split(" → ").map(String::from).collect::<Vec<_>>(), " → ");
        // Functions by exclusive cycles within the operator, summed over their call paths.
        let mut by_fn: Vec<(String, u64)> = Vec::new();
        for k in &o.kernels {
            let name = short_name(&k.function);
            match by_fn.iter_mut().find(|(n, _)| *n == name) {
                Some(e) => e.1 += k.cycles,
                None => by_fn.push((name, k.cycles)),
            }
        }
        by_fn.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        // The functions with at least 1 % of the operator, the rest summed.
        let shown = by_fn.iter().take(BREAKDOWN_FUNCTIONS).filter(|(_, c)| c * 100 >= o.cycles).count().max(1);
        let mut items: Vec<String> = by_fn.iter().take(shown).map(|(n, c)| format!("{n} {}", pct(*c, o.cycles))).collect();
        let rest: u64 = by_fn.iter().skip(shown).map(|(_, c)| c).sum();
        if rest > 0 {
            items.push(format!("{} other{} {}", by_fn.len() - shown, if by_fn.len() - shown == 1 { "" } else { "s" }, pct(rest, o.cycles)));
        }
        wrap_sep(s, &indent, &indent, &items, ", ");
    }
    if ops.len() > MAX_BREAKDOWN_ROWS {
        let _ = writeln!(s, "        … {} more operators in --format json", ops.len() - MAX_BREAKDOWN_ROWS);
    }
}

/// `items` joined by `sep` in lines of at most `WIDTH` characters: the first line starts
/// with `first`, the others with `indent`; an item too long for a line is cut.
fn wrap_sep(s: &mut String, first: &str, indent: &str, items: &[String], sep: &str) {
    let mut line = first.to_string();
    let mut empty = true;
    for (i, it) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() { format!("{it}{}", sep.trim_end()) } else { it.clone() };
        let gap = if empty { "" } else { " " };
        if !empty && line.chars().count() + gap.len() + piece.chars().count() > WIDTH {
            let _ = writeln!(s, "{}", line.trim_end());
            line = indent.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        let room = WIDTH.saturating_sub(line.chars().count()).max(8);
        line.push_str(&fit(&piece, room));
        empty = false;
    }
    let _ = writeln!(s, "{}", line.trim_end());
}

#[cfg(test)]
mod tests {

    #[test]
    fn lines_are_cut_to_a_narrow_terminal() {
        let t = "short\n0123456789abcdefghijklmnopqrstuvwxyz\n";
        assert_eq!(fit_lines(t, 24), "short\n0123456789abcdefghijklm…\n");
        assert_eq!(fit_lines(t, 200), t);
    }

    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(12345678), "12,345,678");
    }

    use crate::export::tests::{bare_report, sample_report};

    #[test]
    fn long_names_are_shortened() {
        let cell = |n: &str, w: usize| name_cell(n, w);
        assert_eq!(cell("main", 10), ("main".into(), None));
        assert_eq!(cell("tflite::ops::conv::Eval(TfLiteContext*, TfLiteNode*)", 30), ("tflite::ops::conv::Eval(…)".into(), None));
        assert_eq!(cell("a_very_long_symbol_without_arguments", 10), (String::new(), Some("a_very_long_symbol_without_arguments".into())));
        assert_eq!(cell("ns::Function(int) const", 21), ("ns::Function(…) const".into(), None));
    }

    #[test]
    fn template_functions_read_fully() {
        // Glow's workers: a template in an anonymous namespace. The old cut at the first
        // parenthesis gave `void (…)`.
        let worker = "(anonymous namespace)::libjit_conv2d_generic<signed char, int>(signed char*, signed char const*, unsigned int const*, int)";
        assert_eq!(short_name(worker), "libjit_conv2d_generic<signed char, int>(…)");
        assert_eq!(name_cell(worker, 52).0, "libjit_conv2d_generic<signed char, int>(…)");
        assert_eq!(short_name("void (anonymous namespace)::f<int>(int)"), "void (anonymous namespace)::f<int>(…)");
        assert_eq!(short_name("tflite::(anonymous namespace)::Eval(TfLiteContext*, TfLiteNode*)"), "tflite::(anonymous namespace)::Eval(…)");
        assert_eq!(short_name("call(void (*)(int), int) const"), "call(…) const");
        assert_eq!(short_name("f()"), "f()");
        assert_eq!(short_name("0x00000800-0x0000083a"), "0x00000800-0x0000083a");
        // Too long for the column even shortened: on a line of its own, whole.
        let long = "(anonymous namespace)::libjit_channelwise_quantized_conv2d_generic<signed char, int>(signed char*, int)";
        let (cell, line) = name_cell(long, 52);
        assert_eq!((cell.as_str(), line.as_deref()), ("", Some("libjit_channelwise_quantized_conv2d_generic<signed char, int>(…)")));
        let mut r = sample_report();
        r.functions[0].name = long.into();
        let t = text(&r);
        let at = t.lines().position(|l| l == "  libjit_channelwise_quantized_conv2d_generic<signed char, int>(…)").unwrap_or_else(|| panic!("{t}"));
        let next: Vec<&str> = t.lines().nth(at + 1).unwrap().split_whitespace().collect();
        assert_eq!(next[0], group(r.functions[0].exclusive_cycles));
        assert!(!t.contains("void (…)"));
    }

    #[test]
    fn kernel_breakdown_shows_the_hot_path_and_function_shares() {
        use crate::profile::KernelTime;
        let mut r = sample_report();
        let k = |path: &[&str], cycles| KernelTime {
            function: path.last().unwrap().to_string(),
            path: path.iter().map(|s| s.to_string()).collect(),
            cycles,
            calls: 1,
        };
        let lp = "tflite::MicroGraph::InvokeSubgraph(int)";
        let eval = "tflite::(anonymous namespace)::Eval(TfLiteContext*, TfLiteNode*)";
        r.operators[0].kernels = vec![
            k(&[lp, eval, "arm_convolve_1x1_s8_fast", "arm_nn_mat_mult_nt_t_s8"], 5_000),
            k(&[lp, eval, "arm_convolve_1x1_s8_fast"], 600),
            k(&[lp, eval], 300),
            k(&[lp], 100),
        ];
        let t = text(&r);
        assert!(t.contains("kernels by operator"), "{t}");
        let at = t.lines().position(|l| l.contains("CONV_2D") && l.contains("→")).unwrap_or_else(|| panic!("{t}"));
        let line = t.lines().nth(at).unwrap();
        assert!(line.ends_with("tflite::(anonymous namespace)::Eval(…) → arm_convolve_1x1_s8_fast → arm_nn_mat_mult_nt_t_s8"), "{line}");
        // Wrapped within 120 columns: two lines here.
        let shares: Vec<&str> = t.lines().skip(at + 1).take(2).map(|l| l.trim()).collect();
        assert_eq!(shares.join(" "), "arm_nn_mat_mult_nt_t_s8 83.3%, arm_convolve_1x1_s8_fast 10.0%, tflite::(anonymous namespace)::Eval(…) 5.0%, tflite::MicroGraph::InvokeSubgraph(…) 1.7%");
        // Operators without a breakdown (FULLY_CONNECTED here) have no line.
        assert!(!t.lines().skip(at).any(|l| l.contains("FULLY_CONNECTED")));
        for l in t.lines() {
            assert!(l.chars().count() <= 120, "{l}");
        }
    }

    #[test]
    fn format_names() {
        for (name, f) in [
            ("text", Format::Text),
            ("table", Format::Text),
            ("json", Format::Json),
            ("csv", Format::Csv),
            ("folded", Format::Folded),
            ("svg", Format::Svg),
            ("trace", Format::Trace),
        ] {
            assert_eq!(Format::parse(name), Some(f), "{name}");
            assert!(Format::NAMES.contains(name), "{name} missing from NAMES");
        }
        assert_eq!(Format::parse("html"), None);
        assert!(!Format::Text.is_machine_readable());
        assert!(Format::Csv.is_machine_readable());
    }

    #[test]
    fn text_has_operator_rows_totals_and_profile_line() {
        let r = sample_report();
        let t = text(&r);
        let row = t.lines().find(|l| l.contains("CONV_2D")).unwrap_or_else(|| panic!("no CONV_2D row:\n{t}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[..7], ["0", "CONV_2D", "6,000", "66.7%", "2,000", "3.000", "12.000"], "{row}");
        assert!(row.ends_with("1x49x10x1 64x10x4x1 64 -> 1x25x5x64"), "{row}");
        let fc = t.lines().find(|l| l.contains("FULLY_CONNECTED")).expect("FC row");
        assert_eq!(fc.split_whitespace().collect::<Vec<_>>()[..6], ["1", "FULLY_CONNECTED", "2,000", "22.2%", "-", "-"], "{fc}");
        let total = t.lines().find(|l| l.trim_start().starts_with("total ")).expect("total row");
        assert_eq!(total.split_whitespace().collect::<Vec<_>>()[..5], ["total", "8,000", "88.9%", "2,000", "3.000"], "{total}");
        assert!(t.contains("profile: tflm (1 inference): inference 9,000 cycles (18.000 µs), operators 8,000 (88.9%), overhead 1,000 (11.1%)"), "{t}");
        assert!(t.contains("note: 1 kernel inlined"));
        // Existing lines stay.
        assert!(t.contains("  cycles        10,000   (m7-block-v2 timing model, detailed mode)"));
        assert!(t.contains("host (varies between runs)"));
    }

    #[test]
    fn text_has_functions_and_memory() {
        let r = sample_report();
        let t = text(&r);
        let row = t.lines().find(|l| l.trim_start().starts_with("arm_convolve_s8")).unwrap_or_else(|| panic!("no function row:\n{t}"));
        assert_eq!(row.split_whitespace().collect::<Vec<_>>(), ["arm_convolve_s8", "5,500", "55.0%", "5,500", "55.0%", "1", "4,000"]);
        assert!(t.contains("functions (top 5 of 5 by exclusive cycles"));
        assert!(t.contains("memory: flash 40,000 B, RAM 30,000 B, stack peak 1,536 B, heap -, arena tensor_arena used 15,000 of 20,000 B (75.0%)"), "{t}");
        assert!(t.contains("sections: .text 40,000 B (itcm, flash), .bss 30,000 B (dtcm, ram)"), "{t}");
    }

    #[test]
    fn text_lists_top_twenty_functions_within_120_columns() {
        let mut r = sample_report();
        r.functions = (0..30u64)
            .map(|i| crate::profile::FunctionStat {
                name: format!("function_number_{i:02}_with_a_rather_long_mangled_name_and_more"),
                address: crate::report::hex32(0x1000 + i as u32 * 16),
                calls: i,
                inclusive_cycles: 1000 * i,
                exclusive_cycles: 100 * i,
                instructions: 90 * i,
            })
            .collect();
        r.operators[0].op = "libjit_conv2d_i8_i32_very_long_kernel_symbol_name_from_an_aot_bundle".into();
        r.operators[0].inputs = vec![vec![1, 49, 10, 1], vec![64, 10, 4, 1], vec![64], vec![1, 2, 3, 4, 5, 6, 7, 8]];
        r.operators[1].invocation = 1;
        r.operators[1].inputs.clear();
        r.operators[1].outputs.clear();
        r.instruction_mix = (0..20).map(|i| (format!("class_{i}"), 1_000_000_000 + i)).collect();
        let p = r.profile.as_mut().unwrap();
        (p.inference_cycles, p.operator_cycles, p.overhead_cycles, p.inferences) = (195_719_913_000, 195_718_145_000, 1_768_000, 2);
        let t = text(&r);
        let rows = t.lines().filter(|l| l.trim_start().starts_with("function_number")).count();
        assert_eq!(rows, 20);
        assert!(t.contains("top 20 of 30"));
        // Sorted by exclusive cycles: the largest first.
        assert!(t.find("number_29").unwrap() < t.find("number_28").unwrap());
        assert!(!t.contains("number_09"));
        assert!(t.lines().any(|l| l.contains(" inv ")), "invocation column with several inferences");
        for l in t.lines() {
            assert!(l.chars().count() <= 120, "{} columns: {l}", l.chars().count());
            assert_eq!(l, l.trim_end(), "trailing blanks");
        }
    }

    #[test]
    fn text_without_profile_has_no_profile_sections() {
        let t = text(&bare_report());
        for word in ["profile:", "operators (", "functions (", "memory:"] {
            assert!(!t.contains(word), "{word} in:\n{t}");
        }
    }
}
