//! The decoded-instruction form every timing model works on.
//!
//! Timing rules need only a little of what a disassembler knows: the instruction's class
//! (which pipeline resources it uses), which registers it reads and writes (for result
//! latencies and load pipelining), its memory addressing, and whether it can change the
//! PC. Keeping this small and decoder-independent lets unit tests build instructions by
//! hand.

/// Register numbers used in [`RegSet`]: r0–r15 are 0–15, the APSR flags 16,
/// FPU single registers s0–s31 are 32–63 (a d-register sets its two s-registers).
pub const REG_SP: u8 = 13;
pub const REG_LR: u8 = 14;
pub const REG_PC: u8 = 15;
pub const REG_FLAGS: u8 = 16;
pub const REG_S0: u8 = 32;

/// A set of registers as a bit mask (see the numbering above).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RegSet(pub u64);

impl RegSet {
    pub const EMPTY: RegSet = RegSet(0);
    pub fn of(regs: &[u8]) -> RegSet {
        RegSet(regs.iter().fold(0, |m, &r| m | (1u64 << r)))
    }
    pub fn with(self, reg: u8) -> RegSet {
        RegSet(self.0 | (1u64 << reg))
    }
    pub fn contains(self, reg: u8) -> bool {
        self.0 & (1u64 << reg) != 0
    }
    pub fn intersects(self, other: RegSet) -> bool {
        self.0 & other.0 != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The registers in ascending order: one step per member rather than per possible
    /// register (block schedules walk these for every instruction they decode).
    pub fn iter(self) -> impl Iterator<Item = u8> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            let r = bits.trailing_zeros();
            bits &= bits.wrapping_sub(1);
            (r < 64).then_some(r as u8)
        })
    }
}

/// What an instruction does, at the granularity the timing tables distinguish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// Move, add, logic, compare, shift, extend, bit-field: single-cycle ALU work.
    Alu,
    /// 32×32→32 multiply (MUL).
    Mul,
    /// Multiply-accumulate into a 32-bit result (MLA, MLS, SMLA<xy>, SMLAW, SMMLA, SMLAD…).
    Mac,
    /// Long multiply or multiply-accumulate (SMULL, UMLAL, SMLALD, SMLAL<xy>…).
    MulLong,
    /// SDIV / UDIV.
    Div,
    /// Other DSP / SIMD / saturating ops (SADD16, QADD8, SSAT, PKHBT, SEL, USAD8, REV, CLZ…).
    Dsp,
    /// Single load (LDR, LDRB, LDRH, LDRSB, LDRSH, LDREX, LDRT…).
    Load,
    /// Single store (STR, STRB, STRH, STREX…).
    Store,
    /// LDRD.
    LoadDouble,
    /// STRD.
    StoreDouble,
    /// LDM / POP (nregs registers).
    LoadMultiple,
    /// STM / PUSH (nregs registers).
    StoreMultiple,
    /// B, BL: always-taken direct branch.
    Branch,
    /// B<cc>: conditional direct branch.
    BranchCond,
    /// CBZ / CBNZ.
    CompareBranch,
    /// BX, BLX register.
    BranchReg,
    /// TBB / TBH.
    TableBranch,
    /// IT.
    It,
    /// NOP, YIELD, SEV and other hints.
    Nop,
    /// DMB, DSB.
    Barrier,
    /// ISB (flushes the pipeline).
    Isb,
    /// MRS, MSR, CPS, and other system-register instructions.
    System,
    /// BKPT (semihosting), SVC, UDF, WFI/WFE.
    Trap,
    /// VADD, VSUB, VABS, VNEG, VCMP, VCVT, VMOV between FP registers, VMRS/VMSR…
    FpAlu,
    /// VMUL, VNMUL.
    FpMul,
    /// VMLA, VMLS, VNMLA, VNMLS, VFMA, VFMS, VFNMA, VFNMS.
    FpMac,
    /// VDIV.
    FpDiv,
    /// VSQRT.
    FpSqrt,
    /// VLDR.
    FpLoad,
    /// VSTR.
    FpStore,
    /// VLDM / VPOP (nregs 32-bit words).
    FpLoadMultiple,
    /// VSTM / VPUSH (nregs 32-bit words).
    FpStoreMultiple,
    /// VMOV between core and FP registers.
    FpMove,
    /// Anything the decoder could not classify (costed as one cycle, counted in reports).
    Unknown,
}

impl Class {
    pub fn is_load(self) -> bool {
        matches!(self, Class::Load | Class::LoadDouble | Class::LoadMultiple | Class::FpLoad | Class::FpLoadMultiple)
    }
    pub fn is_store(self) -> bool {
        matches!(self, Class::Store | Class::StoreDouble | Class::StoreMultiple | Class::FpStore | Class::FpStoreMultiple)
    }
    pub fn is_branch(self) -> bool {
        matches!(self, Class::Branch | Class::BranchCond | Class::CompareBranch | Class::BranchReg | Class::TableBranch)
    }
    pub fn is_fp(self) -> bool {
        matches!(
            self,
            Class::FpAlu
                | Class::FpMul
                | Class::FpMac
                | Class::FpDiv
                | Class::FpSqrt
                | Class::FpLoad
                | Class::FpStore
                | Class::FpLoadMultiple
                | Class::FpStoreMultiple
                | Class::FpMove
        )
    }
    /// A short stable name, used in reports (instruction-class mix).
    pub fn name(self) -> &'static str {
        match self {
            Class::Alu => "alu",
            Class::Mul => "mul",
            Class::Mac => "mac",
            Class::MulLong => "mul_long",
            Class::Div => "div",
            Class::Dsp => "dsp",
            Class::Load => "load",
            Class::Store => "store",
            Class::LoadDouble => "load_double",
            Class::StoreDouble => "store_double",
            Class::LoadMultiple => "load_multiple",
            Class::StoreMultiple => "store_multiple",
            Class::Branch => "branch",
            Class::BranchCond => "branch_cond",
            Class::CompareBranch => "compare_branch",
            Class::BranchReg => "branch_reg",
            Class::TableBranch => "table_branch",
            Class::It => "it",
            Class::Nop => "nop",
            Class::Barrier => "barrier",
            Class::Isb => "isb",
            Class::System => "system",
            Class::Trap => "trap",
            Class::FpAlu => "fp_alu",
            Class::FpMul => "fp_mul",
            Class::FpMac => "fp_mac",
            Class::FpDiv => "fp_div",
            Class::FpSqrt => "fp_sqrt",
            Class::FpLoad => "fp_load",
            Class::FpStore => "fp_store",
            Class::FpLoadMultiple => "fp_load_multiple",
            Class::FpStoreMultiple => "fp_store_multiple",
            Class::FpMove => "fp_move",
            Class::Unknown => "unknown",
        }
    }
}

/// The condition field value of an unconditional instruction (AL).
pub const COND_ALWAYS: u8 = 14;

/// Memory-operand details a timing rule may look at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MemOperand {
    /// Base register number.
    pub base: u8,
    /// Index register, if register-offset addressing.
    pub index: Option<u8>,
    /// Pre/post-indexed addressing that writes the base back.
    pub writeback: bool,
    /// PC-relative literal load.
    pub pc_relative: bool,
    /// Access width in bytes (1, 2, 4, 8).
    pub width: u8,
    /// Immediate offset (0 for register offsets).
    pub disp: i32,
    /// Left shift applied to the index register (LDR r0, [r1, r2, LSL #2] gives 2).
    pub shift: u8,
}

/// One decoded instruction, as the timing models see it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Insn {
    pub addr: u32,
    /// Encoding size in bytes (2 or 4).
    pub size: u8,
    pub class: Class,
    pub reads: RegSet,
    pub writes: RegSet,
    pub mem: Option<MemOperand>,
    /// Register count of LDM/STM/PUSH/POP and words of VLDM/VSTM/VPUSH/VPOP.
    pub nregs: u8,
    /// The base register of an LDM/STM/VLDM/VSTM (SP for PUSH/POP/VPUSH/VPOP), which
    /// `reads` does not tell apart from the register list.
    pub list_base: Option<u8>,
    /// The instruction can write the PC (branch, POP {pc}, LDR pc, MOV pc…).
    pub writes_pc: bool,
    /// Where a direct branch (B, B<cc>, CBZ, CBNZ, BL) goes; None for every other
    /// instruction, indirect branches included.
    pub target: Option<u32>,
    /// Operand 2 is a shifted register (costs an early-ALU slot on M7, 2 cycles on M33).
    pub shifted_operand: bool,
    /// Operand 2 is an immediate made by rotating an 8-bit value, not a plain 8/12-bit
    /// constant or a replicated byte pattern (M33: result latency 2, like a shifted
    /// register [TR §2 jnk0le bullet]).
    pub shifted_constant: bool,
    /// Sets the condition flags.
    pub sets_flags: bool,
    /// The condition it executes under (Armv7-M ARM A7.3: 0 = EQ … 13 = LE, 14 = always),
    /// from its own encoding (B<cc>) or the IT block around it.
    pub cond: u8,
    /// A double-precision FPU data-processing instruction (arithmetic, compare, move or
    /// conversion with an F64 operand): undefined on single-precision FPUs.
    pub double: bool,
    /// The capstone mnemonic, kept for reports and diagnostics.
    pub mnemonic: String,
}

impl Insn {
    /// A bare instruction of a class, for hand-written sequences in tests.
    pub fn new(addr: u32, size: u8, class: Class) -> Insn {
        Insn {
            addr,
            size,
            class,
            reads: RegSet::EMPTY,
            writes: RegSet::EMPTY,
            mem: None,
            nregs: 0,
            list_base: None,
            writes_pc: class.is_branch(),
            target: None,
            shifted_operand: false,
            shifted_constant: false,
            double: false,
            sets_flags: false,
            cond: COND_ALWAYS,
            mnemonic: class.name().to_string(),
        }
    }
    /// The registers an integer STR/STRB/STRH/STRD/STM/PUSH stores (its reads other than
    /// the address registers): cores read them later in the pipeline than other operands.
    pub fn store_data(&self) -> RegSet {
        let addr = match (self.class, self.mem, self.list_base) {
            (Class::Store | Class::StoreDouble, Some(m), _) => {
                let addr = RegSet::EMPTY.with(m.base);
                m.index.map_or(addr, |i| addr.with(i))
            }
            (Class::StoreMultiple, _, Some(base)) => RegSet::EMPTY.with(base),
            _ => return RegSet::EMPTY,
        };
        RegSet(self.reads.0 & !addr.0)
    }
    pub fn reading(mut self, regs: &[u8]) -> Insn {
        self.reads = RegSet(self.reads.0 | RegSet::of(regs).0);
        self
    }
    pub fn writing(mut self, regs: &[u8]) -> Insn {
        self.writes = RegSet(self.writes.0 | RegSet::of(regs).0);
        if self.writes.contains(REG_PC) {
            self.writes_pc = true;
        }
        self
    }
    pub fn with_mem(mut self, mem: MemOperand) -> Insn {
        self.reads = self.reads.with(mem.base);
        if let Some(i) = mem.index {
            self.reads = self.reads.with(i);
        }
        self.mem = Some(mem);
        self
    }
    pub fn with_nregs(mut self, n: u8) -> Insn {
        self.nregs = n;
        self
    }
    /// Address of the next sequential instruction.
    pub fn next_addr(&self) -> u32 {
        self.addr.wrapping_add(self.size as u32)
    }

    /// Every address control can go to after this instruction, when that is known from
    /// the instruction alone: the next one, a direct branch's target, or both for a
    /// conditional branch. None when it writes the PC from a register or memory.
    pub fn successors(&self) -> Option<[u32; 2]> {
        let next = self.next_addr();
        match (self.writes_pc, self.target) {
            (false, _) => Some([next, next]),
            (true, Some(t)) if self.cond == COND_ALWAYS && self.class == Class::Branch => Some([t, t]),
            (true, Some(t)) => Some([next, t]),
            (true, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_register_set_iterates_its_members_in_ascending_order() {
        let regs = [0, 3, 13, 15, REG_FLAGS, REG_S0, REG_S0 + 31];
        assert_eq!(RegSet::of(&regs).iter().collect::<Vec<_>>(), regs);
        assert_eq!(RegSet::EMPTY.iter().count(), 0);
        // Bit 63, the last a u64 holds, is a member like any other.
        assert_eq!(RegSet(1 << 63).iter().collect::<Vec<_>>(), [63]);
    }
}
