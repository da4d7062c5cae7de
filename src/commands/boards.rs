//! `simbench boards`: the built-in board presets.

use crate::exit;
use simbench_cores::board::{Board, PRESETS};
use simbench_sim::SimError;

#[derive(clap::Args, Debug)]
pub struct BoardsArgs {
    /// Output format: text or json.
    #[arg(long, default_value = "text")]
    format: String,
}

pub fn run(args: &BoardsArgs) -> Result<i32, SimError> {
    print!("{}", list(&args.format)?);
    Ok(exit::OK)
}

fn list(format: &str) -> Result<String, SimError> {
    let boards: Vec<Board> = PRESETS.iter().filter_map(|(n, _)| Board::preset(n)).collect();
    match format {
        "json" => Ok(serde_json::to_string_pretty(&boards).expect("boards serialise") + "\n"),
        "text" => {
            let mut s = String::new();
            for b in &boards {
                s.push_str(&format!("{:<12} Cortex-{:<4} {:>6} MHz  {}\n", b.name, b.core.name().to_uppercase(), b.clock_mhz, b.description));
                for r in &b.regions {
                    s.push_str(&format!(
                        "    {:<18} {:#010x}  {:>8} KiB  {:<17} read ws {:<3} write ws {:<3} fetch line {} B\n",
                        r.name,
                        r.base,
                        r.size / 1024,
                        r.kind.name(),
                        r.read_wait,
                        r.write_wait,
                        r.fetch_line_bytes
                    ));
                }
                // The values the preset assumed rather than read from a manual: every
                // estimate on the board is re-timed at both ends (see `[ranges]`).
                for a in b.assumptions() {
                    s.push_str(&format!("    range {:<34} {:>6} in [{}–{}] ({})\n", a.path, a.value, a.low, a.high, a.kind));
                }
            }
            Ok(s)
        }
        other => Err(SimError::Usage(format!("unknown format '{other}' for boards: text or json"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lists_each_preset_range_with_its_value() {
        let t = list("text").unwrap();
        // lpc55s69.toml: `"accelerator.instruction_lines" = [1, 8]` around the preset's 1.
        assert!(t.contains("    range accelerator.instruction_lines"), "{t}");
        let line = t.lines().find(|l| l.contains("range regions.flexspi.read_wait")).expect("mimxrt1011 ranges its FlexSPI wait");
        assert!(line.ends_with("140 in [105–280] (latency)"), "{line}");
        let line = t.lines().find(|l| l.contains("range xip_buffer.buffer_bytes")).unwrap();
        assert!(line.ends_with("(capacity)"), "{line}");
        // Boards without assumptions list none.
        let generic = t.split("generic-m33").nth(1).unwrap().split("generic-m7").next().unwrap();
        assert!(!generic.contains("range "), "{generic}");
    }
}
