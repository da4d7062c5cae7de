//! Thumb-2 decoding with capstone into [`Insn`]s.
//!
//! Runs once per translation block (results are cached by the simulator), so clarity
//! matters more than speed here. Classification follows the instruction groups of the
//! Cortex-M4 TRM instruction table (see `docs/timing-model.md`).

use crate::insn::{Class, Insn, MemOperand, RegSet, COND_ALWAYS, REG_FLAGS, REG_PC, REG_S0, REG_SP};
use capstone::arch::arm::{ArchExtraMode, ArchMode, ArmCC, ArmInsnDetail, ArmOperandType, ArmShift};
use capstone::arch::{BuildsCapstone, BuildsCapstoneExtraMode, DetailsArchInsn};
use capstone::{Capstone, InsnId, RegId};

/// Decodes Thumb code for M-profile cores.
pub struct Decoder {
    cs: Capstone,
    /// capstone register id → simbench register number (see `insn.rs`), 255 = ignored.
    reg_map: Vec<u8>,
    /// capstone instruction id → name, looked up once rather than allocated per
    /// instruction.
    names: Vec<String>,
}

/// Why a byte sequence could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub addr: u32,
    pub message: String,
}

impl Decoder {
    pub fn new() -> Result<Decoder, String> {
        let cs = Capstone::new()
            .arm()
            .mode(ArchMode::Thumb)
            .extra_mode([ArchExtraMode::MClass].iter().copied())
            .detail(true)
            .build()
            .map_err(|e| format!("capstone: {e}"))?;
        let mut reg_map = vec![255u8; 512];
        for (id, slot) in reg_map.iter_mut().enumerate() {
            if let Some(name) = cs.reg_name(RegId(id as u16)) {
                *slot = reg_number(&name);
            }
        }
        // Ids run up to capstone's ARM_INS_ENDING (472 in capstone 5); a later id is
        // looked up when met.
        let names = (0..512).map(|id| cs.insn_name(InsnId(id)).unwrap_or_default()).collect();
        Ok(Decoder { cs, reg_map, names })
    }

    /// Decode up to `max` instructions from `code` (located at `addr`). Stops early at
    /// bytes that do not decode; an empty result for non-empty input is an error.
    pub fn decode(&self, code: &[u8], addr: u32, max: usize) -> Result<Vec<Insn>, DecodeError> {
        // One instruction at a time into capstone's one reusable buffer: `cs_disasm`
        // allocates every instruction's detail separately.
        let mut insns = self.cs.disasm_iter(code, addr as u64).map_err(|e| DecodeError { addr, message: e.to_string() })?;
        let mut out = Vec::new();
        while out.len() < max {
            let Some(i) = insns.next() else { break };
            out.push(self.convert(&i));
        }
        if out.is_empty() && !code.is_empty() {
            return Err(DecodeError { addr, message: "no valid Thumb instruction".into() });
        }
        Ok(out)
    }

    /// Disassembly text of one instruction at `addr`, for diagnostics.
    pub fn disassemble_one(&self, code: &[u8], addr: u32) -> Option<String> {
        let insns = self.cs.disasm_count(code, addr as u64, 1).ok()?;
        let i = insns.iter().next()?;
        Some(format!("{} {}", i.mnemonic().unwrap_or("?"), i.op_str().unwrap_or("")).trim().to_string())
    }

    fn map_regs(&self, regs: &[RegId]) -> RegSet {
        let mut set = RegSet::EMPTY;
        for r in regs {
            let n = self.reg_map.get(r.0 as usize).copied().unwrap_or(255);
            match n {
                255 => {}
                // A d-register occupies two s-registers; d16+ do not exist on these cores.
                n if n >= 100 => {
                    let d = n - 100;
                    if d < 16 {
                        set = set.with(REG_S0 + 2 * d).with(REG_S0 + 2 * d + 1);
                    }
                }
                n => set = set.with(n),
            }
        }
        set
    }

    fn convert(&self, i: &capstone::Insn) -> Insn {
        let looked_up;
        let name = match self.names.get(i.id().0 as usize) {
            Some(n) => n.as_str(),
            None => {
                looked_up = self.cs.insn_name(i.id()).unwrap_or_default();
                looked_up.as_str()
            }
        };
        let mnemonic = i.mnemonic().unwrap_or("").to_string();
        let addr = i.address() as u32;
        let size = i.bytes().len() as u8;
        let mut insn = Insn::new(addr, size, Class::Unknown);
        insn.mnemonic = mnemonic;
        let Ok(detail) = self.cs.insn_detail(i) else {
            return insn;
        };
        insn.reads = self.map_regs(detail.regs_read());
        insn.writes = self.map_regs(detail.regs_write());
        let arch = detail.arch_detail();
        let Some(arm) = arch.arm() else { return insn };
        let ops: Vec<_> = arm.operands().collect();
        insn.sets_flags = arm.update_flags() || insn.writes.contains(REG_FLAGS);
        insn.shifted_operand = ops.iter().any(|o| {
            !matches!(o.shift, ArmShift::Invalid)
                && !matches!(o.op_type, ArmOperandType::Mem(_))
                && !matches!(o.shift, ArmShift::Lsl(0) | ArmShift::Asr(0) | ArmShift::Lsr(0) | ArmShift::Ror(0))
        });
        let conditional = !matches!(arm.cc(), ArmCC::ARM_CC_AL | ArmCC::ARM_CC_INVALID);
        if conditional {
            // capstone numbers the conditions from EQ = 1; the encoding from EQ = 0.
            insn.cond = (arm.cc() as u32).saturating_sub(1).min(COND_ALWAYS as u32) as u8;
        }
        insn.class = classify(name, conditional, &ops, &self.reg_map);
        if insn.class == Class::Alu && size == 4 && !name.starts_with("movw") && !name.starts_with("movt") {
            insn.shifted_constant = ops.iter().any(|o| match o.op_type {
                ArmOperandType::Imm(v) => !plain_constant(v as u32, name.starts_with("add") || name.starts_with("sub")),
                _ => false,
            });
        }
        insn.double = matches!(insn.class, Class::FpAlu | Class::FpMul | Class::FpMac | Class::FpDiv | Class::FpSqrt) && insn.mnemonic.contains(".f64");
        insn.nregs = register_list_len(name, &insn.class, &ops, &self.reg_map);
        if matches!(insn.class, Class::LoadMultiple | Class::StoreMultiple | Class::FpLoadMultiple | Class::FpStoreMultiple) {
            insn.list_base = if name.contains("push") || name.contains("pop") { Some(REG_SP) } else { ops.first().and_then(|o| operand_reg(o, &self.reg_map)) };
        }
        insn.mem = memory_operand(name, arm, &ops, &self.reg_map);
        if let Some(m) = insn.mem {
            insn.reads = insn.reads.with(m.base);
            if let Some(ix) = m.index {
                insn.reads = insn.reads.with(ix);
            }
        }
        insn.writes_pc = insn.class.is_branch() || insn.writes.contains(REG_PC);
        if matches!(insn.class, Class::Branch | Class::BranchCond | Class::CompareBranch) {
            // capstone gives a direct branch's destination as its last, immediate operand.
            insn.target = match ops.last().map(|o| &o.op_type) {
                Some(ArmOperandType::Imm(t)) => Some(*t as u32),
                _ => None,
            };
        }
        insn
    }
}

/// A Thumb-2 operand-2 immediate that needs no rotation: an 8-bit value (12-bit for
/// ADD/SUB, encoding T4), or a byte replicated as 0x00XY00XY, 0xXY00XY00 or 0xXYXYXYXY
/// (the 'simple constant' and 'constant pattern' kinds of [TR §2 jnk0le bullet]).
fn plain_constant(v: u32, add_sub: bool) -> bool {
    let b = v & 0xFF;
    v < 256 || (add_sub && v < 4096) || v == b * 0x0001_0001 || v == (b << 8) * 0x0001_0001 || v == b * 0x0101_0101
}

/// capstone register name → simbench number; d-registers are returned as 100 + n.
fn reg_number(name: &str) -> u8 {
    match name {
        "sp" => 13,
        "lr" => 14,
        "pc" => 15,
        "sb" => 9,
        "sl" => 10,
        "fp" => 11,
        "ip" => 12,
        "apsr" | "apsr_nzcv" | "cpsr" | "itstate" => REG_FLAGS,
        _ => {
            let (prefix, num) = name.split_at(1);
            match (prefix, num.parse::<u8>()) {
                ("r", Ok(n)) if n < 16 => n,
                ("s", Ok(n)) if n < 32 => REG_S0 + n,
                ("d", Ok(n)) if n < 32 => 100 + n,
                _ => 255,
            }
        }
    }
}

fn operand_reg(op: &capstone::arch::arm::ArmOperand, reg_map: &[u8]) -> Option<u8> {
    match op.op_type {
        ArmOperandType::Reg(r) => reg_map.get(r.0 as usize).copied().filter(|&n| n != 255),
        _ => None,
    }
}

fn classify(name: &str, conditional: bool, ops: &[capstone::arch::arm::ArmOperand], reg_map: &[u8]) -> Class {
    let starts = |p: &[&str]| p.iter().any(|s| name.starts_with(s));
    if let Some(rest) = name.strip_prefix('v') {
        return match rest {
            r if r.starts_with("ldr") => Class::FpLoad,
            r if r.starts_with("str") => Class::FpStore,
            r if r.starts_with("ldm") || r.starts_with("pop") => Class::FpLoadMultiple,
            r if r.starts_with("stm") || r.starts_with("push") => Class::FpStoreMultiple,
            "mla" | "mls" | "nmla" | "nmls" | "fma" | "fms" | "fnma" | "fnms" => Class::FpMac,
            "mul" | "nmul" => Class::FpMul,
            "div" => Class::FpDiv,
            "sqrt" => Class::FpSqrt,
            "mov" => {
                let core = ops.iter().filter_map(|o| operand_reg(o, reg_map)).any(|n| n < 16);
                if core {
                    Class::FpMove
                } else {
                    Class::FpAlu
                }
            }
            _ => Class::FpAlu,
        };
    }
    match name {
        "ldrd" => return Class::LoadDouble,
        "strd" => return Class::StoreDouble,
        "tbb" | "tbh" => return Class::TableBranch,
        "cbz" | "cbnz" => return Class::CompareBranch,
        "b" => return if conditional { Class::BranchCond } else { Class::Branch },
        "bl" => return Class::Branch,
        "bx" | "blx" | "bxns" | "blxns" => return Class::BranchReg,
        "it" => return Class::It,
        "sdiv" | "udiv" => return Class::Div,
        "mul" => return Class::Mul,
        "mla" | "mls" => return Class::Mac,
        "nop" | "yield" | "sev" | "dbg" | "hint" => return Class::Nop,
        "dmb" | "dsb" => return Class::Barrier,
        "isb" => return Class::Isb,
        "bkpt" | "svc" | "udf" | "wfi" | "wfe" => return Class::Trap,
        "mrs" | "msr" | "cpsid" | "cpsie" | "cps" | "tt" | "ttt" | "tta" | "ttat" | "sg" => return Class::System,
        _ => {}
    }
    if starts(&["ldm", "pop"]) {
        Class::LoadMultiple
    } else if starts(&["stm", "push"]) {
        Class::StoreMultiple
    } else if starts(&["ldr", "lda"]) {
        Class::Load
    } else if starts(&["str", "stl"]) {
        Class::Store
    } else if starts(&["smull", "umull", "smlal", "umlal", "umaal", "smlsld"]) {
        Class::MulLong
    } else if starts(&["smla", "smls", "smmla", "smmls"]) {
        Class::Mac
    } else if starts(&["smul", "smuad", "smusd", "smmul"]) {
        Class::Mul
    } else if starts(&[
        "sadd", "ssub", "sasx", "ssax", "qadd", "qsub", "qasx", "qsax", "qdadd", "qdsub", "shadd", "shsub", "shasx", "shsax", "uadd", "usub", "uasx", "usax",
        "uqadd", "uqsub", "uqasx", "uqsax", "uhadd", "uhsub", "uhasx", "uhsax", "sel", "usad", "ssat", "usat", "pkh", "sxtb16", "sxtab", "uxtb16", "uxtab",
        "sxtah", "uxtah", "rev", "rbit", "clz",
    ]) {
        Class::Dsp
    } else {
        Class::Alu
    }
}

/// Register-list length for multiple transfers (words for FP lists), 0 otherwise.
/// LDM/STM name their base register first; PUSH/POP (and VPUSH/VPOP) have only the list.
fn register_list_len(name: &str, class: &Class, ops: &[capstone::arch::arm::ArmOperand], reg_map: &[u8]) -> u8 {
    let regs: Vec<u8> = ops.iter().filter_map(|o| operand_reg(o, reg_map)).collect();
    let list = if name.contains("push") || name.contains("pop") { &regs[..] } else { regs.get(1..).unwrap_or(&[]) };
    match class {
        Class::LoadMultiple | Class::StoreMultiple => list.len() as u8,
        Class::FpLoadMultiple | Class::FpStoreMultiple => list
            .iter()
            .map(|&r| {
                if r >= 100 {
                    2
                } else if r >= REG_S0 {
                    1
                } else {
                    0
                }
            })
            .sum(),
        _ => 0,
    }
}

fn memory_operand(name: &str, arm: &ArmInsnDetail, ops: &[capstone::arch::arm::ArmOperand], reg_map: &[u8]) -> Option<MemOperand> {
    // The unprivileged forms (LDRT, LDRBT, STRHT…) have the width of their plain forms.
    let name = match name {
        "ldrt" | "ldrbt" | "ldrht" | "ldrsbt" | "ldrsht" | "strt" | "strbt" | "strht" => &name[..name.len() - 1],
        _ => name,
    };
    let width = if name.ends_with("exb") || name.ends_with('b') && !name.starts_with("ldm") {
        1
    } else if name.ends_with('h') || name.ends_with("exh") {
        2
    } else if name.ends_with('d') {
        8
    } else {
        4
    };
    let mut post_index = false;
    let mut found: Option<MemOperand> = None;
    for op in ops {
        match &op.op_type {
            ArmOperandType::Mem(m) => {
                let base = reg_map.get(m.base().0 as usize).copied().unwrap_or(255);
                if base == 255 {
                    continue;
                }
                let index = reg_map.get(m.index().0 as usize).copied().filter(|&n| n != 255 && n < 16);
                let shift = match op.shift {
                    ArmShift::Lsl(n) if index.is_some() => n.min(31) as u8,
                    _ => 0,
                };
                found = Some(MemOperand { base, index, writeback: false, pc_relative: base == REG_PC, width, disp: m.disp(), shift });
            }
            ArmOperandType::Imm(_) | ArmOperandType::Reg(_) if found.is_some() => post_index = true,
            _ => {}
        }
    }
    found.map(|mut m| {
        m.writeback = arm.writeback() || post_index;
        m
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Insn {
        let d = Decoder::new().unwrap();
        d.decode(bytes, 0x1000, 1).unwrap().remove(0)
    }

    #[test]
    fn memory_operands_carry_the_index_shift_width_and_condition() {
        // ldr.w r0, [r1, r2, lsl #2]  (T2: f851 0022)
        let m = one(&[0x51, 0xf8, 0x22, 0x00]).mem.unwrap();
        assert_eq!((m.base, m.index, m.shift, m.width), (1, Some(2), 2, 4));
        // ldrht r0, [r1, #2]  (T1: f831 0e02): a halfword, like LDRH
        let m = one(&[0x31, 0xf8, 0x02, 0x0e]).mem.unwrap();
        assert_eq!((m.width, m.disp), (2, 2));
        // it ne; ldrne r0, [r1]  (bf18 6808): the load executes under NE (1)
        let d = Decoder::new().unwrap();
        let pair = d.decode(&[0x18, 0xbf, 0x08, 0x68], 0x1000, 2).unwrap();
        assert_eq!((pair[0].class, pair[1].class, pair[1].cond), (Class::It, Class::Load, 1));
        // bne.n (d100) carries NE; adds (1888) none
        assert_eq!(one(&[0x00, 0xd1]).cond, 1);
        assert_eq!(one(&[0x88, 0x18]).cond, COND_ALWAYS);
    }

    #[test]
    fn classifies_common_thumb_instructions() {
        // adds r0, r1, r2  (T1: 0x1888)
        let i = one(&[0x88, 0x18]);
        assert_eq!(i.class, Class::Alu);
        assert!(i.reads.contains(1) && i.reads.contains(2) && i.writes.contains(0));
        // ldr r0, [r1, #4]  (T1: 0x6848)
        let i = one(&[0x48, 0x68]);
        assert_eq!(i.class, Class::Load);
        assert_eq!(i.mem.unwrap().base, 1);
        // smlad r0, r1, r2, r3  (T1: fb21 3002)
        let i = one(&[0x21, 0xfb, 0x02, 0x30]);
        assert_eq!(i.class, Class::Mac);
        // push {r4, r5, r6, lr}  (0xb570)
        let i = one(&[0x70, 0xb5]);
        assert_eq!(i.class, Class::StoreMultiple);
        assert_eq!(i.nregs, 4);
        assert_eq!(i.list_base, Some(REG_SP));
        // pop {r4, pc}  (0xbd10)
        let i = one(&[0x10, 0xbd]);
        assert_eq!(i.class, Class::LoadMultiple);
        assert_eq!(i.nregs, 2);
        assert!(i.writes_pc);
        // stmia r3!, {r0, r1} (0xc303): the base is r3, the stored data r0 and r1.
        let i = one(&[0x03, 0xc3]);
        assert_eq!((i.list_base, i.store_data()), (Some(3), RegSet::of(&[0, 1])));
        // vldmia r1!, {s0-s3} (ecb1 0a04) and vpush {d8} (ed2d 8b02): bases r1 and SP.
        assert_eq!(one(&[0xb1, 0xec, 0x04, 0x0a]).list_base, Some(1));
        assert_eq!(one(&[0x2d, 0xed, 0x02, 0x8b]).list_base, Some(REG_SP));
        // bne.n +4  (0xd100)
        let i = one(&[0x00, 0xd1]);
        assert_eq!(i.class, Class::BranchCond);
        // bkpt 0xab
        let i = one(&[0xab, 0xbe]);
        assert_eq!(i.class, Class::Trap);
        // vmla.f32 s0, s1, s2  (ee00 0a81)
        let i = one(&[0x00, 0xee, 0x81, 0x0a]);
        assert_eq!(i.class, Class::FpMac);
        // sdiv r0, r1, r2  (fb91 f0f2)
        let i = one(&[0x91, 0xfb, 0xf2, 0xf0]);
        assert_eq!(i.class, Class::Div);
    }

    #[test]
    fn direct_branches_know_where_they_go() {
        // Thumb branch offsets count from the instruction's address + 4 (Armv7-M ARM A7.7.12).
        // bne.n (d100, imm8 0): on to 0x1002 or to 0x1004.
        assert_eq!(one(&[0x00, 0xd1]).successors(), Some([0x1002, 0x1004]));
        // b.n . (e7fe): only itself.
        assert_eq!(one(&[0xfe, 0xe7]).successors(), Some([0x1000, 0x1000]));
        // cbz r0 (b108, imm5 1: +2): 0x1002 or 0x1006.
        assert_eq!(one(&[0x08, 0xb1]).successors(), Some([0x1002, 0x1006]));
        // bl (f000 f800, offset 0): the callee at 0x1004 only.
        assert_eq!(one(&[0x00, 0xf0, 0x00, 0xf8]).successors(), Some([0x1004, 0x1004]));
        // adds r0, r1, r2 (1888): the next instruction.
        assert_eq!(one(&[0x88, 0x18]).successors(), Some([0x1002, 0x1002]));
        // bx lr (4770) and pop {r4, pc} (bd10): from a register or memory, unknown.
        assert_eq!(one(&[0x70, 0x47]).successors(), None);
        assert_eq!(one(&[0x10, 0xbd]).successors(), None);
    }

    #[test]
    fn shifted_constants_are_told_from_plain_ones() {
        // eor.w r0, r1, #0x1fc0 (f481 50fe): a rotated 8-bit value [TR §2 jnk0le glossary].
        assert!(one(&[0x81, 0xf4, 0xfe, 0x50]).shifted_constant);
        // add.w r0, r1, #1 (f101 0001): simple. eor.w r6, r7, #0x1b1b1b1b (f087 361b): pattern.
        assert!(!one(&[0x01, 0xf1, 0x01, 0x00]).shifted_constant);
        assert!(!one(&[0x87, 0xf0, 0x1b, 0x36]).shifted_constant);
    }

    #[test]
    fn ldm_with_base_counts_only_the_list() {
        // ldmia r0!, {r1, r2, r3}  (0xc80e)
        let i = one(&[0x0e, 0xc8]);
        assert_eq!(i.class, Class::LoadMultiple);
        assert_eq!(i.nregs, 3);
    }
}
