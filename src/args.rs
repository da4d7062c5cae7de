//! Argument types and parsers shared by the subcommands: board and core selection,
//! timing fidelity, profile, limits, addresses. The only module besides `commands` that
//! knows about the command line.

use simbench_cores::board::{Board, PRESETS};
use simbench_cores::{CoreKind, Fidelity};
use simbench_sim::operators::ProfileMode;
use simbench_sim::semihosting::SemihostingOptions;
use simbench_sim::{RunOptions, SimError};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A 32-bit address, decimal or `0x` hex, `_` separators allowed.
pub fn parse_address(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(&hex.replace('_', ""), 16),
        None => t.replace('_', "").parse::<u32>(),
    };
    parsed.map_err(|_| format!("'{s}' is not a 32-bit address (decimal or 0x hex)"))
}

/// `--gdb [ADDR:]PORT`: where the GDB server listens; 127.0.0.1 unless an address is
/// given (`localhost` or an IP address; `[::1]:PORT` for IPv6). Port 0 picks a free port.
pub fn parse_gdb_address(s: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    let t = s.trim();
    let bad = || format!("--gdb '{s}': give PORT or ADDR:PORT, e.g. 3333 or 127.0.0.1:3333");
    if let Ok(port) = t.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Ok(addr) = t.parse::<SocketAddr>() {
        return Ok(addr);
    }
    match t.rsplit_once(':') {
        Some(("localhost", port)) => port.parse::<u16>().map(|p| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p)).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// Resolve `--core`, `--board` and `--clock-mhz` into a board.
pub fn resolve_board(core: Option<&str>, board: Option<&str>, clock_mhz: Option<f64>) -> Result<Board, SimError> {
    let core = match core {
        Some(c) => Some(CoreKind::parse(c).ok_or_else(|| SimError::Usage(format!("unknown core '{c}': choose m4, m33 or m7")))?),
        None => None,
    };
    let mut b = match (board, core) {
        (Some(name), _) => match Board::preset(name) {
            Some(b) => b,
            None if Path::new(name).exists() || name.ends_with(".toml") => {
                let text = std::fs::read_to_string(name).map_err(|e| SimError::Io(format!("cannot read board file '{name}': {e}")))?;
                Board::from_toml(&text).map_err(|e| SimError::BadBoard(format!("{name}: {e}")))?
            }
            None => {
                let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
                return Err(SimError::Usage(format!("unknown board '{name}': built-in presets are {} (or pass a .toml file)", names.join(", "))));
            }
        },
        (None, Some(c)) => Board::generic(c),
        (None, None) => {
            return Err(SimError::Usage(
                "choose what to simulate: --core m4|m33|m7 (zero-wait generic board) or --board NAME|FILE.toml (see `simbench boards`)".into(),
            ))
        }
    };
    if let (Some(c), Some(_)) = (core, board) {
        if c != b.core {
            return Err(SimError::Usage(format!("board '{}' has a Cortex-{} core, but --core {} was given", b.name, b.core.name().to_uppercase(), c.name())));
        }
    }
    if let Some(mhz) = clock_mhz {
        b.clock_mhz = mhz;
        b.validate().map_err(SimError::Usage)?;
    }
    Ok(b)
}

pub fn parse_fidelity(s: &str) -> Result<Fidelity, SimError> {
    Fidelity::parse(s).ok_or_else(|| SimError::Usage(format!("unknown --timing '{s}': fast or detailed")))
}

pub fn parse_profile(s: &str) -> Result<ProfileMode, SimError> {
    ProfileMode::parse(s).ok_or_else(|| SimError::Usage(format!("unknown --profile '{s}': auto, tflm, aot, markers, functions or off")))
}

/// `--timeout SECONDS`: a positive, finite number of seconds.
pub fn parse_timeout(t: Option<f64>) -> Result<Option<Duration>, SimError> {
    match t {
        Some(t) if t.is_finite() && t > 0.0 && t < 1e9 => Ok(Some(Duration::from_secs_f64(t))),
        Some(t) => Err(SimError::Usage(format!("--timeout {t}: give a positive number of seconds"))),
        None => Ok(None),
    }
}

/// `--model FILE.tflite`: read and parse the model.
pub fn read_model(path: &Path) -> Result<simbench_profiles::tflite::Model, SimError> {
    let bytes = std::fs::read(path).map_err(|e| SimError::Io(format!("cannot read --model '{}': {e}", path.display())))?;
    simbench_profiles::tflite::parse(&bytes).map_err(|e| SimError::Io(format!("--model '{}' is not a usable TFLite model: {e}", path.display())))
}

/// Profiling and run-control options shared by the run command, `compare`, `check` and
/// `sweep`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunControl {
    /// Operator profile: auto, tflm, aot, markers, functions (function profile only) or off.
    #[arg(long, default_value = "auto")]
    pub profile: String,
    /// Tensor arena / activations buffer to measure: a symbol, or ADDR:SIZE.
    #[arg(long)]
    pub arena: Option<String>,
    /// Address of the vector table (initial SP, reset handler), e.g. 0x60002000.
    #[arg(long, value_parser = parse_address)]
    pub vtor: Option<u32>,
    /// Stop a run after this many modelled cycles (exit code 5).
    #[arg(long)]
    pub max_cycles: Option<u64>,
    /// Stop a run after this many instructions (exit code 5).
    #[arg(long)]
    pub max_instructions: Option<u64>,
    /// Stop a run after this many seconds of host time (exit code 5).
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Start the ITM disabled, as on a part with no trace probe attached (default: as a
    /// debugger set up for SWO leaves it, ITMENA and every stimulus port on).
    #[arg(long)]
    pub no_swo: bool,
    /// Host folder the firmware may open files in through semihosting, by relative name
    /// (absolute names, `..` and symbolic links leading out are refused). Default: no host
    /// files.
    #[arg(long, value_name = "DIR", help_heading = "Semihosting")]
    pub semihosting_dir: Option<PathBuf>,
    /// Let the firmware create, write, remove and rename files in --semihosting-dir.
    #[arg(long, requires = "semihosting_dir", help_heading = "Semihosting")]
    pub semihosting_write: bool,
    /// File the firmware reads as its console input (stdin). Default: empty (end of file).
    #[arg(long, value_name = "FILE", help_heading = "Semihosting")]
    pub stdin: Option<PathBuf>,
    /// The command line SYS_GET_CMDLINE returns (argc/argv), program name first, e.g.
    /// "app --alpha beta". Default: the firmware's file name.
    #[arg(long, value_name = "\"PROGRAM ARGS...\"", allow_hyphen_values = true, help_heading = "Semihosting")]
    pub args: Option<String>,
    /// What-if placement: time SYMBOL's bytes (an ELF object, function or section) as if
    /// linked into the board's REGION (its wait states, cache or accelerator; TCM zero
    /// wait), without moving them. Repeatable. The report lists the placements.
    #[arg(long, value_name = "SYMBOL=REGION", value_parser = simbench_sim::placement::PlaceSpec::parse, help_heading = "Memory placement")]
    pub place: Vec<simbench_sim::placement::PlaceSpec>,
    /// Attribute every memory wait cycle to the symbol (function, object, else section or
    /// region) it came from, and per operator: the report's "stalls by symbol".
    #[arg(long, help_heading = "Memory placement")]
    pub stalls: bool,
    /// Do not re-time the run at the low and high ends of the board's assumption ranges
    /// (report the point estimate only; about a third of the CPU time on ranged boards).
    #[arg(long)]
    pub no_ranges: bool,
}

impl RunControl {
    /// Copy the settings into `opts`.
    pub fn apply(&self, opts: &mut RunOptions) -> Result<(), SimError> {
        opts.profile = parse_profile(&self.profile)?;
        opts.arena = self.arena.clone();
        opts.vtor = self.vtor;
        opts.max_cycles = self.max_cycles;
        opts.max_instructions = self.max_instructions;
        opts.timeout = parse_timeout(self.timeout)?;
        if self.no_swo {
            opts.board.swo = Some(false);
        }
        opts.interrupt = Some(interrupt_flag());
        opts.placements = self.place.clone();
        opts.stalls = self.stalls;
        opts.semihosting =
            SemihostingOptions { dir: self.semihosting_dir.clone(), write: self.semihosting_write, stdin: self.stdin.clone(), args: self.args.clone() };
        // A missing folder or stdin file is one error before any run, not one per run.
        simbench_sim::semihosting::Host::new(&opts.semihosting)?;
        Ok(())
    }
}

/// A flag SIGINT and SIGTERM set to their signal number, so that a run stops cleanly at
/// its next limit check and prints its partial report (registered once per process).
pub fn interrupt_flag() -> Arc<AtomicUsize> {
    static FLAG: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicUsize::new(0));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Without the handler a signal just ends the process, as before.
            let _ = signal_hook::flag::register_usize(signal, flag.clone(), signal as usize);
        }
        flag
    })
    .clone()
}

/// Manifest paths given on the command line, or the defaults that exist.
pub fn existing_or_default(given: &[PathBuf], defaults: &[&str]) -> Vec<PathBuf> {
    if given.is_empty() {
        defaults.iter().map(PathBuf::from).filter(|p| p.exists()).collect()
    } else {
        given.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_resolution() {
        assert_eq!(resolve_board(Some("m7"), None, None).unwrap().name, "generic-m7");
        assert_eq!(resolve_board(None, Some("lpc55s69"), Some(96.0)).unwrap().clock_mhz, 96.0);
        assert!(matches!(resolve_board(Some("m7"), Some("lpc55s69"), None), Err(SimError::Usage(_))));
        assert!(matches!(resolve_board(Some("m99"), None, None), Err(SimError::Usage(_))));
        assert!(matches!(resolve_board(None, None, None), Err(SimError::Usage(_))));
        assert!(matches!(resolve_board(None, Some("nope"), None), Err(SimError::Usage(_))));
        assert!(matches!(resolve_board(Some("m4"), None, Some(-1.0)), Err(SimError::Usage(_))));
    }

    #[test]
    fn addresses_parse_in_hex_and_decimal() {
        assert_eq!(parse_address("0x60002000"), Ok(0x6000_2000));
        assert_eq!(parse_address("4096"), Ok(4096));
        assert!(parse_address("0x1_0000_0000").is_err());
    }

    #[test]
    fn gdb_addresses_default_to_loopback() {
        assert_eq!(parse_gdb_address("3333").unwrap().to_string(), "127.0.0.1:3333");
        assert_eq!(parse_gdb_address("0").unwrap().to_string(), "127.0.0.1:0");
        assert_eq!(parse_gdb_address("localhost:4000").unwrap().to_string(), "127.0.0.1:4000");
        assert_eq!(parse_gdb_address("0.0.0.0:3333").unwrap().to_string(), "0.0.0.0:3333");
        assert_eq!(parse_gdb_address("[::1]:3333").unwrap().to_string(), "[::1]:3333");
        assert!(parse_gdb_address("70000").is_err());
        assert!(parse_gdb_address("host:3333").is_err());
        assert!(parse_gdb_address("").is_err());
    }

    #[test]
    fn timeouts_must_be_positive() {
        assert_eq!(parse_timeout(Some(1.5)).unwrap(), Some(Duration::from_millis(1500)));
        assert!(parse_timeout(Some(0.0)).is_err());
        assert!(parse_timeout(Some(f64::NAN)).is_err());
    }
}
