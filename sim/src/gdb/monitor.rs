//! `monitor` commands (`qRcmd`): what they are and how they parse.

/// A `monitor` command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Monitor {
    Help,
    /// The modelled cycle and instruction counts where the target stands (and the
    /// operator running, when the run has an inference profile).
    Cycles,
    /// Back to the reset vector, as at the start of the run.
    Reset,
    /// `halt`: the target is halted whenever a client can send a command (OpenOCD's
    /// command, which IDE front-ends send).
    Halt,
    /// The report so far, as text.
    Report,
    /// `break-cycle N`: halt at the first instruction that starts at or after cycle N;
    /// `break-cycle off`: no more; `break-cycle`: show it.
    BreakCycle(Option<Option<u64>>),
    /// Not a command: the text, for the error message.
    Unknown(String),
}

pub const HELP: &str = "simbench monitor commands:
  monitor cycles             modelled cycles and instructions so far (and the operator running)
  monitor report             the report so far (text)
  monitor reset              back to the reset vector: the run starts over (also `reset halt`)
  monitor halt               nothing to do: the target is halted whenever GDB can ask
  monitor break-cycle N      halt at the first instruction starting at or after cycle N
  monitor break-cycle off    remove it (monitor break-cycle shows it)
";

/// A count: decimal with optional `_` or `,` separators, or `0x` hex.
fn count(s: &str) -> Option<u64> {
    let t: String = s.chars().filter(|&c| c != '_' && c != ',').collect();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

pub fn parse(text: &str) -> Monitor {
    let mut words = text.split_whitespace();
    let Some(cmd) = words.next() else { return Monitor::Help };
    let args: Vec<&str> = words.collect();
    match (cmd, args.as_slice()) {
        ("help" | "?", []) => Monitor::Help,
        ("cycles" | "cycle", []) => Monitor::Cycles,
        ("reset", []) | ("reset", ["halt" | "init"]) => Monitor::Reset,
        ("halt", []) => Monitor::Halt,
        ("report", []) => Monitor::Report,
        ("break-cycle" | "break_cycle", []) => Monitor::BreakCycle(None),
        ("break-cycle" | "break_cycle", ["off" | "clear" | "none" | "delete"]) => Monitor::BreakCycle(Some(None)),
        ("break-cycle" | "break_cycle", [n]) => match count(n) {
            Some(c) => Monitor::BreakCycle(Some(Some(c))),
            None => Monitor::Unknown(text.to_string()),
        },
        _ => Monitor::Unknown(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(parse(""), Monitor::Help);
        assert_eq!(parse("help"), Monitor::Help);
        assert_eq!(parse(" cycles "), Monitor::Cycles);
        assert_eq!(parse("reset"), Monitor::Reset);
        assert_eq!(parse("reset halt"), Monitor::Reset);
        assert_eq!(parse("halt"), Monitor::Halt);
        assert_eq!(parse("report"), Monitor::Report);
        assert_eq!(parse("break-cycle 17_510"), Monitor::BreakCycle(Some(Some(17510))));
        assert_eq!(parse("break-cycle 0x100"), Monitor::BreakCycle(Some(Some(256))));
        assert_eq!(parse("break-cycle off"), Monitor::BreakCycle(Some(None)));
        assert_eq!(parse("break-cycle"), Monitor::BreakCycle(None));
        assert_eq!(parse("break-cycle soon"), Monitor::Unknown("break-cycle soon".into()));
        assert_eq!(parse("cycles please"), Monitor::Unknown("cycles please".into()));
        assert_eq!(parse("flash erase"), Monitor::Unknown("flash erase".into()));
    }
}
