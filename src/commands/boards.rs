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
            }
            Ok(s)
        }
        other => Err(SimError::Usage(format!("unknown format '{other}' for boards: text or json"))),
    }
}
