//! Which memory an instruction is about to access, for watchpoints (`debug/halt_hooks.rs`).
//!
//! GDB treats Arm watchpoints as triggering before the access (it then steps over the
//! instruction itself and compares values), so the debugger halts *before* the
//! accessing instruction. The code hook knows the instruction and the registers at that
//! moment: its addressing (parsed once from capstone's text, kept per address) and the
//! registers give the exact bytes it will touch.

/// How an instruction addresses memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// No data access (or a hint: PLD, PLI).
    None,
    /// One access of `width` bytes at `base` (+ `index << shift`) + `imm`, or at `base`
    /// when post-indexed. Base 15 is the PC (literal): Align(PC + 4, 4).
    Single { load: bool, store: bool, base: u8, index: Option<(u8, u8)>, imm: i32, post: bool, width: u32 },
    /// LDM/STM/PUSH/POP and their FP forms: `bytes` from `base` up, or below it.
    Multiple { load: bool, base: u8, bytes: u32, decrement: bool },
}

/// The accessed byte range `[start, end)` and whether it is read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub start: u64,
    pub end: u64,
    pub load: bool,
    pub store: bool,
}

impl Pattern {
    /// The access with the registers as `reg` gives them (r0–r15), for the instruction at `pc`.
    pub fn access(&self, pc: u32, reg: impl Fn(u8) -> u32) -> Option<Access> {
        match *self {
            Pattern::None => None,
            Pattern::Single { load, store, base, index, imm, post, width } => {
                let b = if base == 15 { (pc.wrapping_add(4)) & !3 } else { reg(base) };
                let addr = if post {
                    b
                } else {
                    let ix = index.map_or(0, |(r, shift)| reg(r) << shift);
                    b.wrapping_add(ix).wrapping_add(imm as u32)
                };
                Some(Access { start: addr as u64, end: addr as u64 + width as u64, load, store })
            }
            Pattern::Multiple { load, base, bytes, decrement } => {
                let b = reg(base) as u64;
                let start = if decrement { b.saturating_sub(bytes as u64) } else { b };
                Some(Access { start, end: start + bytes as u64, load, store: !load })
            }
        }
    }
}

const CONDITIONS: [&str; 17] = ["eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al"];

/// Load/store mnemonics (longest first, so that a condition suffix is not mistaken for
/// part of the name): (name, width, load, store).
const SINGLE: [(&str, u32, bool, bool); 36] = [
    ("ldrexb", 1, true, false),
    ("ldrexh", 2, true, false),
    ("strexb", 1, false, true),
    ("strexh", 2, false, true),
    ("ldaexb", 1, true, false),
    ("ldaexh", 2, true, false),
    ("stlexb", 1, false, true),
    ("stlexh", 2, false, true),
    ("ldrsbt", 1, true, false),
    ("ldrsht", 2, true, false),
    ("ldaex", 4, true, false),
    ("stlex", 4, false, true),
    ("ldrex", 4, true, false),
    ("strex", 4, false, true),
    ("ldrbt", 1, true, false),
    ("ldrht", 2, true, false),
    ("strbt", 1, false, true),
    ("strht", 2, false, true),
    ("ldrsb", 1, true, false),
    ("ldrsh", 2, true, false),
    ("ldrb", 1, true, false),
    ("ldrh", 2, true, false),
    ("ldrd", 8, true, false),
    ("ldrt", 4, true, false),
    ("strb", 1, false, true),
    ("strh", 2, false, true),
    ("strd", 8, false, true),
    ("strt", 4, false, true),
    ("ldab", 1, true, false),
    ("ldah", 2, true, false),
    ("stlb", 1, false, true),
    ("stlh", 2, false, true),
    ("lda", 4, true, false),
    ("stl", 4, false, true),
    ("ldr", 4, true, false),
    ("str", 4, false, true),
];

/// `name` + an optional condition: the rest after `name`, when it is one.
fn strip<'a>(m: &'a str, name: &str) -> Option<&'a str> {
    let rest = m.strip_prefix(name)?;
    (rest.is_empty() || CONDITIONS.contains(&rest)).then_some(rest)
}

/// A register name as capstone prints it.
pub fn register(name: &str) -> Option<u8> {
    Some(match name.trim() {
        "sp" => 13,
        "lr" => 14,
        "pc" => 15,
        "ip" => 12,
        "fp" => 11,
        "sl" => 10,
        "sb" => 9,
        r => {
            let n: u8 = r.strip_prefix('r')?.parse().ok()?;
            if n > 15 {
                return None;
            }
            n
        }
    })
}

/// An immediate: `#0x10`, `#-0x1`, `#12`.
fn immediate(t: &str) -> Option<i32> {
    let t = t.trim().strip_prefix('#')?;
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let v = match t.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok()?,
        None => t.parse::<i64>().ok()?,
    };
    i32::try_from(if neg { -v } else { v }).ok()
}

/// The bytes of a register list: `{r4, r5, lr}`, `{s16, s17}`, `{d8-d9}`.
fn list_bytes(list: &str) -> Option<u32> {
    let inner = list.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut bytes = 0;
    for item in inner.split(',') {
        let item = item.trim();
        let (first, last) = item.split_once('-').unwrap_or((item, item));
        let width = if first.trim().starts_with('d') { 8 } else { 4 };
        let num = |r: &str| -> Option<u32> {
            let r = r.trim();
            match r.chars().next()? {
                'd' | 's' if r[1..].chars().all(|c| c.is_ascii_digit()) && r.len() > 1 => r[1..].parse().ok(),
                _ => register(r).map(|n| n as u32),
            }
        };
        let count = num(last)?.checked_sub(num(first)?)? + 1;
        bytes += count * width;
    }
    Some(bytes)
}

/// The addressing of an instruction from its text (`mnemonic operands`, as
/// `Decoder::disassemble_one` gives it).
pub fn pattern(text: &str) -> Pattern {
    parse(text).unwrap_or(Pattern::None)
}

fn parse(text: &str) -> Option<Pattern> {
    let (m, ops) = text.split_once(' ').unwrap_or((text, ""));
    let m = m.trim_end_matches(".w").trim_end_matches(".n");
    // PUSH/POP and their FP forms: the stack.
    for (name, load) in [("vpush", false), ("vpop", true), ("push", false), ("pop", true)] {
        if strip(m, name).is_some() {
            let bytes = list_bytes(ops)?;
            return Some(Pattern::Multiple { load, base: 13, bytes, decrement: !load });
        }
    }
    // LDM/STM and VLDM/VSTM: `rN{!}, {list}`.
    for (name, load, decrement) in [
        ("vldmdb", true, true),
        ("vstmdb", false, true),
        ("vldmia", true, false),
        ("vstmia", false, false),
        ("vldm", true, false),
        ("vstm", false, false),
        ("ldmdb", true, true),
        ("stmdb", false, true),
        ("ldmia", true, false),
        ("stmia", false, false),
        ("ldmfd", true, false),
        ("stmfd", false, true),
        ("ldm", true, false),
        ("stm", false, false),
    ] {
        if strip(m, name).is_some() {
            let (base, list) = ops.split_once(',')?;
            let base = register(base.trim().trim_end_matches('!'))?;
            return Some(Pattern::Multiple { load, base, bytes: list_bytes(list)?, decrement });
        }
    }
    // VLDR/VSTR: the width is the register's.
    for (name, load) in [("vldr", true), ("vstr", false)] {
        if strip(m, name).is_some() {
            let width = if ops.trim_start().starts_with('d') { 8 } else { 4 };
            return memory_operand(ops, load, !load, width);
        }
    }
    // TBB/TBH read the table.
    for (name, width) in [("tbb", 1), ("tbh", 2)] {
        if strip(m, name).is_some() {
            return memory_operand(ops, true, false, width);
        }
    }
    for (name, width, load, store) in SINGLE {
        if strip(m, name).is_some() {
            return memory_operand(ops, load, store, width);
        }
    }
    Some(Pattern::None)
}

/// `… [rN]`, `[rN, #imm]{!}`, `[rN], #imm`, `[rN, rM{, lsl #k}]`, `[pc, #imm]`.
fn memory_operand(ops: &str, load: bool, store: bool, width: u32) -> Option<Pattern> {
    let open = ops.find('[')?;
    let close = ops[open..].find(']')? + open;
    let inside: Vec<&str> = ops[open + 1..close].split(',').map(str::trim).collect();
    let after = ops[close + 1..].trim();
    let base = register(inside.first()?)?;
    let post = after.starts_with(',');
    let mut imm = 0;
    let mut index = None;
    match inside.get(1) {
        None => {}
        Some(t) if t.starts_with('#') => imm = immediate(t)?,
        Some(t) => {
            let (neg, r) = match t.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, *t),
            };
            if neg {
                return None;
            }
            let shift = match inside.get(2) {
                None => 0,
                Some(s) => s.trim().strip_prefix("lsl")?.trim().strip_prefix('#')?.parse::<u8>().ok()?,
            };
            index = Some((register(r)?, shift));
        }
    }
    Some(Pattern::Single { load, store, base, index, imm, post, width })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(load: bool, base: u8, index: Option<(u8, u8)>, imm: i32, post: bool, width: u32) -> Pattern {
        Pattern::Single { load, store: !load, base, index, imm, post, width }
    }

    #[test]
    fn single_loads_and_stores() {
        assert_eq!(pattern("ldr.w r3, [r4, #0xd88]"), single(true, 4, None, 0xd88, false, 4));
        assert_eq!(pattern("str r2, [r3]"), single(false, 3, None, 0, false, 4));
        assert_eq!(pattern("ldr r3, [pc, #0x12c]"), single(true, 15, None, 0x12c, false, 4));
        assert_eq!(pattern("str r0, [r2], #4"), single(false, 2, None, 0, true, 4));
        assert_eq!(pattern("ldrb r1, [r3, #-0x1]!"), single(true, 3, None, -1, false, 1));
        assert_eq!(pattern("strb.w r1, [r2, #1]!"), single(false, 2, None, 1, false, 1));
        assert_eq!(pattern("strh.w r2, [lr, ip]"), single(false, 14, Some((12, 0)), 0, false, 2));
        assert_eq!(pattern("ldr.w r0, [r1, r2, lsl #2]"), single(true, 1, Some((2, 2)), 0, false, 4));
        assert_eq!(pattern("ldrsb ip, [r3, #1]!"), single(true, 3, None, 1, false, 1));
        assert_eq!(pattern("ldrd r3, r4, [ip, #4]"), single(true, 12, None, 4, false, 8));
        assert_eq!(pattern("strd sl, ip, [sp]"), single(false, 13, None, 0, false, 8));
        assert_eq!(pattern("strex r0, r1, [r2]"), single(false, 2, None, 0, false, 4));
        assert_eq!(pattern("vldr s0, [pc, #0x44]"), single(true, 15, None, 0x44, false, 4));
        assert_eq!(pattern("vstr d8, [sp, #8]"), single(false, 13, None, 8, false, 8));
        assert_eq!(pattern("tbh [pc, r1, lsl #1]"), single(true, 15, Some((1, 1)), 0, false, 2));
        // Conditions inside IT blocks; `ldrhs` is LDR with HS, `ldrhhi` LDRH with HI.
        assert_eq!(pattern("ldrls r0, [r3, r0, lsl #2]"), single(true, 3, Some((0, 2)), 0, false, 4));
        assert_eq!(pattern("ldrhs r0, [r1]"), single(true, 1, None, 0, false, 4));
        assert_eq!(pattern("ldrhhi r0, [r1]"), single(true, 1, None, 0, false, 2));
        assert_eq!(pattern("strbeq r0, [r1]"), single(false, 1, None, 0, false, 1));
    }

    #[test]
    fn multiple_transfers() {
        assert_eq!(pattern("push {r4, r5, r6, r7, lr}"), Pattern::Multiple { load: false, base: 13, bytes: 20, decrement: true });
        assert_eq!(pattern("pop.w {r4, r5, r6, r7, r8, sb, sl, fp, pc}"), Pattern::Multiple { load: true, base: 13, bytes: 36, decrement: false });
        assert_eq!(pattern("ldm r4!, {r0, r2, r3, r6, r7}"), Pattern::Multiple { load: true, base: 4, bytes: 20, decrement: false });
        assert_eq!(pattern("stmdb r0!, {r4, r5}"), Pattern::Multiple { load: false, base: 0, bytes: 8, decrement: true });
        assert_eq!(pattern("vpush {d8}"), Pattern::Multiple { load: false, base: 13, bytes: 8, decrement: true });
        assert_eq!(pattern("vpop {s16, s17}"), Pattern::Multiple { load: true, base: 13, bytes: 8, decrement: false });
        assert_eq!(pattern("vldmia r0!, {s16, s17, s18}"), Pattern::Multiple { load: true, base: 0, bytes: 12, decrement: false });
        assert_eq!(pattern("vstmdb r0!, {d8-d15}"), Pattern::Multiple { load: false, base: 0, bytes: 64, decrement: true });
    }

    #[test]
    fn others_access_nothing() {
        for t in ["adds r0, #1", "bl #0x2a0", "it ls", "pld [r0]", "bx lr", "mov.w r2, #0x400", "", "sub sp, #0x74", "stc p1, c2, [r0]"] {
            assert_eq!(pattern(t), Pattern::None, "{t}");
        }
        // Garbage never panics.
        for t in ["ldr", "ldr r0, [", "ldr r0, [r99]", "ldr r0, [r1, #zz]", "push {", "pop {r4-}", "ldm", "vpush {d8", "str r0, [r1, -r2]"] {
            let _ = pattern(t);
        }
    }

    #[test]
    fn access_ranges_from_registers() {
        let regs = |n: u8| [0x2000_0000u32, 0x10, 0, 0x2000_0400, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2000_1000, 0, 0][n as usize];
        let a = pattern("strb.w r1, [r3, #5]!").access(0x100, regs).unwrap();
        assert_eq!((a.start, a.end, a.load, a.store), (0x2000_0405, 0x2000_0406, false, true));
        let a = pattern("ldr r0, [r0, r1, lsl #2]").access(0x100, regs).unwrap();
        assert_eq!(a.start, 0x2000_0040);
        let a = pattern("str r0, [r3], #4").access(0x100, regs).unwrap();
        assert_eq!(a.start, 0x2000_0400, "post-indexed: at the base");
        let a = pattern("ldr r2, [pc, #0xd0]").access(0x2ca, regs).unwrap();
        assert_eq!(a.start, 0x39c, "literal: Align(PC + 4, 4) + imm");
        let a = pattern("push {r4, lr}").access(0x100, regs).unwrap();
        assert_eq!((a.start, a.end, a.store), (0x2000_0ff8, 0x2000_1000, true));
        let a = pattern("pop {r4, pc}").access(0x100, regs).unwrap();
        assert_eq!((a.start, a.end, a.load), (0x2000_1000, 0x2000_1008, true));
        assert_eq!(pattern("adds r0, #1").access(0, regs), None);
    }
}
