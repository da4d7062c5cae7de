//! A packet's payload as a command. Parsing never fails: an unknown packet is `Unknown`
//! (answered with an empty packet, "not supported"), a known one with bad arguments is
//! `Malformed` (answered `E01`).

use super::packet::{from_hex, parse_hex_u64, unescape};
use crate::machine::debug::WatchKind;

/// What a breakpoint packet (`Z`/`z` type) sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointKind {
    /// Z0: software breakpoint (simbench does not write a BKPT into memory).
    Software,
    /// Z1: hardware breakpoint.
    Hardware,
    /// Z2, Z3, Z4.
    Watch(WatchKind),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `?`
    HaltReason,
    /// `g`
    ReadRegisters,
    /// `G XX…`: the registers' bytes in `g` order.
    WriteRegisters(Vec<u8>),
    /// `p n`
    ReadRegister(usize),
    /// `P n=XX…`
    WriteRegister(usize, Vec<u8>),
    /// `m addr,len`
    ReadMemory { addr: u32, len: usize },
    /// `M addr,len:XX…` or `X addr,len:binary`
    WriteMemory { addr: u32, data: Vec<u8> },
    /// `c`, `C`, `s`, `S`, `vCont;…`: resume (stepping or not), optionally from `addr`.
    Resume { step: bool, addr: Option<u32> },
    /// `vCont?`
    VContQuery,
    /// `Z type,addr,kind` (insert) and `z…` (remove).
    Point { insert: bool, kind: PointKind, addr: u32, len: u32 },
    /// `k`, `vKill`
    Kill,
    /// `D`, `D;pid`
    Detach,
    /// `qSupported[:features]`
    Supported(Vec<String>),
    /// `qXfer:object:read:annex:offset,length`
    XferRead { object: String, annex: String, offset: usize, len: usize },
    /// `qRcmd,hex`: a `monitor` command.
    Monitor(String),
    /// `QStartNoAckMode`
    StartNoAck,
    /// `qAttached`
    Attached,
    /// `qC`
    CurrentThread,
    /// `qfThreadInfo`
    ThreadsFirst,
    /// `qsThreadInfo`
    ThreadsNext,
    /// `H…`, `T…`: thread selection and liveness (one thread).
    ThreadOk,
    /// `qSymbol::`
    Symbol,
    /// `vFlashErase:addr,len`
    FlashErase { addr: u32, len: u32 },
    /// `vFlashWrite:addr:binary`
    FlashWrite { addr: u32, data: Vec<u8> },
    /// `vFlashDone`
    FlashDone,
    /// A packet simbench does not implement: answered with an empty packet.
    Unknown,
    /// A known packet with arguments that do not parse.
    Malformed,
}

fn hex_u32(t: &[u8]) -> Option<u32> {
    parse_hex_u64(t).and_then(|v| u32::try_from(v).ok())
}

/// `addr,len` in hex.
fn addr_len(t: &[u8]) -> Option<(u32, u64)> {
    let comma = t.iter().position(|&b| b == b',')?;
    Some((hex_u32(&t[..comma])?, parse_hex_u64(&t[comma + 1..])?))
}

fn split_at_byte(t: &[u8], b: u8) -> Option<(&[u8], &[u8])> {
    let i = t.iter().position(|&x| x == b)?;
    Some((&t[..i], &t[i + 1..]))
}

/// Parse a packet payload.
pub fn parse(p: &[u8]) -> Command {
    parse_known(p).unwrap_or(Command::Malformed)
}

/// None: a known packet that does not parse.
fn parse_known(p: &[u8]) -> Option<Command> {
    let Some((&first, rest)) = p.split_first() else { return Some(Command::Unknown) };
    Some(match first {
        b'?' => Command::HaltReason,
        b'g' if rest.is_empty() => Command::ReadRegisters,
        b'G' => Command::WriteRegisters(from_hex(rest)?),
        b'p' => Command::ReadRegister(parse_hex_u64(rest)? as usize),
        b'P' => {
            let (n, v) = split_at_byte(rest, b'=')?;
            Command::WriteRegister(parse_hex_u64(n)? as usize, from_hex(v)?)
        }
        b'm' => {
            let (addr, len) = addr_len(rest)?;
            Command::ReadMemory { addr, len: usize::try_from(len).ok()? }
        }
        b'M' => {
            let (al, data) = split_at_byte(rest, b':')?;
            let (addr, len) = addr_len(al)?;
            let data = from_hex(data)?;
            (data.len() as u64 == len).then_some(Command::WriteMemory { addr, data })?
        }
        b'X' => {
            let (al, data) = split_at_byte(rest, b':')?;
            let (addr, len) = addr_len(al)?;
            let data = unescape(data)?;
            (data.len() as u64 == len).then_some(Command::WriteMemory { addr, data })?
        }
        b'c' | b's' => Command::Resume { step: first == b's', addr: if rest.is_empty() { None } else { Some(hex_u32(rest)?) } },
        // `C sig[;addr]`: the signal is not delivered (a Cortex-M has none to deliver).
        b'C' | b'S' => {
            let addr = match split_at_byte(rest, b';') {
                Some((sig, a)) => {
                    parse_hex_u64(sig)?;
                    Some(hex_u32(a)?)
                }
                None => {
                    parse_hex_u64(rest)?;
                    None
                }
            };
            Command::Resume { step: first == b'S', addr }
        }
        b'Z' | b'z' => {
            let mut f = rest.split(|&b| b == b',');
            let kind = match f.next()? {
                b"0" => PointKind::Software,
                b"1" => PointKind::Hardware,
                b"2" => PointKind::Watch(WatchKind::Write),
                b"3" => PointKind::Watch(WatchKind::Read),
                b"4" => PointKind::Watch(WatchKind::Access),
                _ => return Some(Command::Unknown),
            };
            let addr = hex_u32(f.next()?)?;
            // The kind/length field may be followed by `;cond…` lists, which are ignored.
            let len_field = f.next()?;
            let len_field = split_at_byte(len_field, b';').map_or(len_field, |(l, _)| l);
            let len = hex_u32(len_field)?;
            Command::Point { insert: first == b'Z', kind, addr, len }
        }
        b'k' if rest.is_empty() => Command::Kill,
        b'D' => Command::Detach,
        b'H' | b'T' => Command::ThreadOk,
        b'q' | b'Q' | b'v' => return parse_named(p),
        _ => Command::Unknown,
    })
}

/// `q…`, `Q…` and `v…` packets.
fn parse_named(p: &[u8]) -> Option<Command> {
    let text = std::str::from_utf8(p).ok();
    let starts = |prefix: &str| p.starts_with(prefix.as_bytes());
    Some(if p == b"qSupported" || starts("qSupported:") {
        let features = text?.strip_prefix("qSupported").unwrap_or("").trim_start_matches(':');
        Command::Supported(features.split(';').filter(|f| !f.is_empty()).map(str::to_string).collect())
    } else if starts("qXfer:") {
        // qXfer:object:read:annex:offset,length
        let t = text?;
        let mut f = t["qXfer:".len()..].splitn(4, ':');
        let object = f.next()?.to_string();
        if f.next()? != "read" {
            return Some(Command::Unknown);
        }
        let annex = f.next()?.to_string();
        let (offset, len) = addr_len(f.next()?.as_bytes())?;
        Command::XferRead { object, annex, offset: offset as usize, len: usize::try_from(len).ok()? }
    } else if starts("qRcmd,") {
        let bytes = from_hex(&p["qRcmd,".len()..])?;
        Command::Monitor(String::from_utf8_lossy(&bytes).into_owned())
    } else if p == b"QStartNoAckMode" {
        Command::StartNoAck
    } else if p == b"qAttached" || starts("qAttached:") {
        Command::Attached
    } else if p == b"qC" {
        Command::CurrentThread
    } else if p == b"qfThreadInfo" {
        Command::ThreadsFirst
    } else if p == b"qsThreadInfo" {
        Command::ThreadsNext
    } else if starts("qSymbol:") {
        Command::Symbol
    } else if p == b"vCont?" {
        Command::VContQuery
    } else if starts("vCont;") {
        parse_vcont(&p["vCont;".len()..])?
    } else if starts("vKill") {
        Command::Kill
    } else if starts("vFlashErase:") {
        let (addr, len) = addr_len(&p["vFlashErase:".len()..])?;
        Command::FlashErase { addr, len: u32::try_from(len).ok()? }
    } else if starts("vFlashWrite:") {
        let (a, data) = split_at_byte(&p["vFlashWrite:".len()..], b':')?;
        Command::FlashWrite { addr: hex_u32(a)?, data: unescape(data)? }
    } else if p == b"vFlashDone" {
        Command::FlashDone
    } else {
        Command::Unknown
    })
}

/// `vCont;action[:thread][;action[:thread]]…`: the action for our one thread (the first
/// that names it or names none).
fn parse_vcont(actions: &[u8]) -> Option<Command> {
    for action in actions.split(|&b| b == b';') {
        let (act, thread) = match split_at_byte(action, b':') {
            Some((a, t)) => (a, Some(t)),
            None => (action, None),
        };
        let ours = thread.is_none_or(|t| t == b"-1" || t == b"1" || t == b"p1.1" || t == b"p1.-1" || t == b"0");
        if !ours {
            continue;
        }
        let (&c, sig) = act.split_first()?;
        return Some(match c {
            b'c' if sig.is_empty() => Command::Resume { step: false, addr: None },
            b's' if sig.is_empty() => Command::Resume { step: true, addr: None },
            b'C' | b'S' => {
                parse_hex_u64(sig)?;
                Command::Resume { step: c == b'S', addr: None }
            }
            // `t` (stop) on a stopped target, `r` (range step) is not offered.
            _ => return None,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_and_memory() {
        assert_eq!(parse(b"g"), Command::ReadRegisters);
        assert_eq!(parse(b"p f"), Command::Malformed);
        assert_eq!(parse(b"pf"), Command::ReadRegister(15));
        assert_eq!(parse(b"P0=78563412"), Command::WriteRegister(0, vec![0x78, 0x56, 0x34, 0x12]));
        assert_eq!(parse(b"P0=785"), Command::Malformed);
        assert_eq!(parse(b"G0001"), Command::WriteRegisters(vec![0, 1]));
        assert_eq!(parse(b"m20000400,10"), Command::ReadMemory { addr: 0x2000_0400, len: 16 });
        assert_eq!(parse(b"m20000400"), Command::Malformed);
        assert_eq!(parse(b"m1_0000_0000,4"), Command::Malformed);
        assert_eq!(parse(b"M20000000,2:abcd"), Command::WriteMemory { addr: 0x2000_0000, data: vec![0xab, 0xcd] });
        assert_eq!(parse(b"M20000000,3:abcd"), Command::Malformed, "length and data disagree");
        assert_eq!(parse(b"X20000000,2:}\x03a"), Command::WriteMemory { addr: 0x2000_0000, data: vec![b'#', b'a'] });
        assert_eq!(parse(b"X20000000,0:"), Command::WriteMemory { addr: 0x2000_0000, data: vec![] });
    }

    #[test]
    fn run_control() {
        assert_eq!(parse(b"c"), Command::Resume { step: false, addr: None });
        assert_eq!(parse(b"s2c8"), Command::Resume { step: true, addr: Some(0x2c8) });
        assert_eq!(parse(b"C05"), Command::Resume { step: false, addr: None });
        assert_eq!(parse(b"S05;100"), Command::Resume { step: true, addr: Some(0x100) });
        assert_eq!(parse(b"vCont?"), Command::VContQuery);
        assert_eq!(parse(b"vCont;c"), Command::Resume { step: false, addr: None });
        assert_eq!(parse(b"vCont;s:1;c"), Command::Resume { step: true, addr: None });
        assert_eq!(parse(b"vCont;s:2;c"), Command::Resume { step: false, addr: None }, "another thread's step");
        assert_eq!(parse(b"vCont;C0b:p1.-1"), Command::Resume { step: false, addr: None });
        assert_eq!(parse(b"vCont;r100,200:1"), Command::Malformed);
        assert_eq!(parse(b"vCont;"), Command::Malformed);
        assert_eq!(parse(b"k"), Command::Kill);
        assert_eq!(parse(b"vKill;1"), Command::Kill);
        assert_eq!(parse(b"D;1"), Command::Detach);
    }

    #[test]
    fn breakpoints_and_watchpoints() {
        assert_eq!(parse(b"Z0,2c8,2"), Command::Point { insert: true, kind: PointKind::Software, addr: 0x2c8, len: 2 });
        assert_eq!(parse(b"z1,2c8,4"), Command::Point { insert: false, kind: PointKind::Hardware, addr: 0x2c8, len: 4 });
        assert_eq!(parse(b"Z2,20000405,1"), Command::Point { insert: true, kind: PointKind::Watch(WatchKind::Write), addr: 0x2000_0405, len: 1 });
        assert_eq!(parse(b"Z3,20000405,4"), Command::Point { insert: true, kind: PointKind::Watch(WatchKind::Read), addr: 0x2000_0405, len: 4 });
        assert_eq!(parse(b"Z4,20000405,4"), Command::Point { insert: true, kind: PointKind::Watch(WatchKind::Access), addr: 0x2000_0405, len: 4 });
        assert_eq!(parse(b"Z0,2c8,2;X1,0"), Command::Point { insert: true, kind: PointKind::Software, addr: 0x2c8, len: 2 });
        assert_eq!(parse(b"Z9,2c8,2"), Command::Unknown);
        assert_eq!(parse(b"Z0,2c8"), Command::Malformed);
        assert_eq!(parse(b"Z0"), Command::Malformed);
    }

    #[test]
    fn queries() {
        assert_eq!(
            parse(b"qSupported:multiprocess+;swbreak+;xmlRegisters=arm"),
            Command::Supported(vec!["multiprocess+".into(), "swbreak+".into(), "xmlRegisters=arm".into()])
        );
        assert_eq!(parse(b"qSupported"), Command::Supported(vec![]));
        assert_eq!(
            parse(b"qXfer:features:read:target.xml:0,ffb"),
            Command::XferRead { object: "features".into(), annex: "target.xml".into(), offset: 0, len: 0xffb }
        );
        assert_eq!(parse(b"qXfer:memory-map:read::400,ffb"), Command::XferRead { object: "memory-map".into(), annex: "".into(), offset: 0x400, len: 0xffb });
        assert_eq!(parse(b"qXfer:features:write:target.xml:0,1"), Command::Unknown);
        assert_eq!(parse(b"qXfer:features:read:target.xml"), Command::Malformed);
        assert_eq!(parse(b"qRcmd,6379636c6573"), Command::Monitor("cycles".into()));
        assert_eq!(parse(b"qRcmd,6"), Command::Malformed);
        assert_eq!(parse(b"QStartNoAckMode"), Command::StartNoAck);
        assert_eq!(parse(b"qTStatus"), Command::Unknown);
        assert_eq!(parse(b"vMustReplyEmpty"), Command::Unknown);
        assert_eq!(parse(b"Hg0"), Command::ThreadOk);
        assert_eq!(parse(b"qfThreadInfo"), Command::ThreadsFirst);
    }

    #[test]
    fn flash_programming() {
        assert_eq!(parse(b"vFlashErase:00000000,00000400"), Command::FlashErase { addr: 0, len: 0x400 });
        assert_eq!(parse(b"vFlashWrite:100:ab}]"), Command::FlashWrite { addr: 0x100, data: vec![b'a', b'b', b'}'] });
        assert_eq!(parse(b"vFlashDone"), Command::FlashDone);
        assert_eq!(parse(b"vFlashWrite:100"), Command::Malformed);
    }

    #[test]
    fn anything_parses_to_something() {
        assert_eq!(parse(b""), Command::Unknown);
        let mut x: u32 = 7;
        for _ in 0..20_000 {
            let len = (x % 24) as usize;
            let p: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    b"gGpPmMXcsCSZz0123456789abcdef,:;=qvQDk?}"[(x >> 16) as usize % 40]
                })
                .collect();
            let _ = parse(&p);
        }
    }
}
