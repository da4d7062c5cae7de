//! Renderers: the same report as readable text or as JSON.

use crate::report::Report;
use std::fmt::Write;

/// Output formats of `simbench run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "text" | "table" => Some(Format::Text),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => json(report),
    }
}

pub fn json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("reports serialise");
    s.push('\n');
    s
}

/// Thousands separators for big counts.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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
    let _ = writeln!(s, "simbench {} — {} on {} (Cortex-{}, {} MHz)", r.simbench_version, r.firmware.file, r.board.name, r.board.core.to_uppercase(), r.board.clock_mhz);
    let outcome = match r.outcome.kind.as_str() {
        "exit" => format!("exited with status {}", r.outcome.exit_status.unwrap_or(0)),
        other => format!("{other}: {}", r.outcome.message.as_deref().unwrap_or("")),
    };
    let _ = writeln!(s, "  outcome       {outcome}");
    let _ = writeln!(s, "  instructions  {}", group(r.instructions));
    let _ = writeln!(s, "  cycles        {}   ({} timing model, {} mode)", group(r.cycles), r.timing.model, r.timing.mode);
    let _ = writeln!(s, "  CPI           {:.3}", r.cpi);
    let _ = writeln!(s, "  latency       {} at {} MHz", latency(r.latency_us), r.board.clock_mhz);
    let _ = writeln!(s, "\n  {:<20} {:<18} {:>14} {:>10} {:>12} {:>12} {:>10}", "region", "kind", "insn fetched", "fetch ws", "data reads", "data writes", "data ws");
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
        let _ = writeln!(s, "  {}", caches.join(", "));
    }
    if !r.instruction_mix.is_empty() {
        let mut mix: Vec<_> = r.instruction_mix.iter().collect();
        mix.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let line: Vec<String> = mix.iter().take(8).map(|(k, v)| format!("{k} {}", group(**v))).collect();
        let _ = writeln!(s, "\n  instruction mix: {}", line.join(", "));
    }
    if !r.markers.is_empty() {
        let _ = writeln!(s, "\n  markers ({}{}):", r.markers.len(), if r.markers_dropped > 0 { format!(", {} dropped", r.markers_dropped) } else { String::new() });
        for m in r.markers.iter().take(20) {
            let _ = writeln!(s, "    port {:>2}  value {:>10}  at cycle {:>14}  pc {}", m.port, m.value, group(m.cycles), m.pc);
        }
        if r.markers.len() > 20 {
            let _ = writeln!(s, "    … {} more in --format json", r.markers.len() - 20);
        }
    }
    if !r.unmodelled_registers.is_empty() {
        let regs: Vec<String> = r.unmodelled_registers.iter().map(|a| format!("{} (r{} w{})", a.address, a.reads, a.writes)).collect();
        let _ = writeln!(s, "\n  system registers kept as plain storage: {}", regs.join(", "));
    }
    let _ = writeln!(
        s,
        "\n  host (varies between runs): {:.3} s wall, {:.1} simulated MIPS, {} blocks decoded",
        r.host.wall_seconds, r.host.simulated_mips, r.host.blocks_decoded
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(12345678), "12,345,678");
    }
}
