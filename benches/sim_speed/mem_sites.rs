//! The load/store instructions that touch the regions `detailed` mode hooks, found by a
//! first pass over the firmware on bare unicorn, for the code-hook floors (issue 18's
//! design (a)) and the per-block address-capture count (design (b)).
//!
//! The pass uses no memory hook: with one, bare unicorn runs TFLM KWS on LPC55S69 to a
//! different end (see `Floor::DataHooks`). Instead a block hook decodes each block once
//! with simbench's decoder, and a code hook on every instruction computes the region a
//! memory instruction reaches from the registers, as design (a) would.

use super::bare_unicorn;
use rustc_hash::FxHashMap;
use simbench_cores::insn::{Class, MemOperand, REG_PC};
use simbench_cores::{Board, Decoder, Insn};
use simbench_sim::machine::{core_reg, read_core_reg};
use simbench_sim::Image;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use unicorn_engine::Unicorn;

/// How an access's address could be known for per-block capture (design (b)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capture {
    /// PC-relative: known when the block is translated.
    Static,
    /// From the registers at block entry: no earlier instruction of the block writes its
    /// base or index register.
    EntryRegisters,
    /// As above, except that earlier loads/stores of the block moved the base by their
    /// writeback, a static offset.
    AfterWriteback,
    /// The base or index is computed earlier in the block from entry registers only
    /// (ALU work a symbolic pass over the block could redo at entry).
    Computed,
    /// The base or index depends on a value loaded earlier in the block (a pointer).
    Loaded,
}

/// A load/store instruction that accessed a hooked region at least once.
#[derive(Clone, Copy, Debug)]
pub struct MemSite {
    pub pc: u32,
    pub mem: MemOperand,
    /// Times it executed with its address in a hooked region.
    pub executions: u64,
}

/// What the first pass found.
pub struct Survey {
    /// Sorted by address.
    pub sites: Vec<MemSite>,
    /// Executions of any load/store (hooked region or not).
    pub mem_executions: u64,
    /// Hooked executions by how per-block capture could know their address.
    pub capture: HashMap<Capture, u64>,
    /// Per block start: the registers to read at its entry for the addresses of its
    /// hooked accesses that per-block capture can know there (none for PC-relative ones).
    pub entry_regs: FxHashMap<u32, Box<[i32]>>,
    /// The sites whose address some block computes or loads before the access: capture
    /// at block entry cannot know it.
    pub in_block: Vec<MemSite>,
    /// 4 KiB pages (address >> 12) that hold executed code.
    pub code_pages: HashSet<u32>,
    /// Hooked executions whose address lies on such a page (literal pools, constants
    /// among code): an MMIO mapping of the data pages alone would not see them.
    pub on_code_pages: u64,
}

impl Survey {
    /// Hooked executions (each would be one code-hook call under design (a)).
    pub fn hooked_executions(&self) -> u64 {
        self.sites.iter().map(|s| s.executions).sum()
    }
}

/// The pass's state: decoded blocks, the block running, and per-(block, pc) counts, as
/// one instruction can be reached through several translation blocks.
struct Pass {
    decoder: Decoder,
    hooked: Vec<(u32, u64)>,
    blocks: HashMap<u32, Rc<[Insn]>>,
    block: (u32, Rc<[Insn]>),
    /// Where in the running block the last instruction was (they run in order).
    cursor: usize,
    counts: HashMap<(u32, u32), u64>,
    mem_executions: u64,
    code_pages: HashSet<u32>,
    /// Hooked executions per page of their lowest address.
    hooked_pages: HashMap<u32, u64>,
}

/// Runs the firmware once on bare unicorn and records the load/store instructions whose
/// address falls in `hooked` (half-open `[start, end)` ranges).
pub fn survey(image: &Image, board: &Board, hooked: Vec<(u32, u64)>) -> Survey {
    let pass = Rc::new(RefCell::new(Pass {
        decoder: Decoder::new().unwrap(),
        hooked,
        blocks: HashMap::new(),
        block: (0, Rc::from(Vec::new())),
        cursor: 0,
        counts: HashMap::new(),
        mem_executions: 0,
        code_pages: HashSet::new(),
        hooked_pages: HashMap::new(),
    }));
    let mut uc = bare_unicorn(image, board);
    let p = pass.clone();
    uc.add_block_hook(1, 0, move |uc, addr, size| p.borrow_mut().enter(uc, addr as u32, size)).unwrap();
    let p = pass.clone();
    uc.add_code_hook(1, 0, move |uc, pc, _| p.borrow_mut().step(uc, pc as u32)).unwrap();
    assert_eq!(super::run_to_exit(&mut uc, image, board), 0, "the survey run must finish like simbench's");
    drop(uc);
    let pass = Rc::try_unwrap(pass).ok().unwrap().into_inner();
    pass.finish()
}

impl Pass {
    /// Block hook: decode the block once; start matching its instructions from the top.
    fn enter(&mut self, uc: &mut Unicorn<()>, addr: u32, size: u32) {
        let decoder = &self.decoder;
        let insns = self.blocks.entry(addr).or_insert_with(|| {
            let code = uc.mem_read_as_vec(addr as u64, size as usize).unwrap();
            let mut insns = decoder.decode(&code, addr, usize::MAX).unwrap();
            for i in insns.iter_mut().filter(|i| i.mem.is_none()) {
                i.mem = transfer_list_operand(i);
            }
            insns.into()
        });
        self.block = (addr, insns.clone());
        self.cursor = 0;
        self.code_pages.extend([addr >> 12, (addr + size.max(1) - 1) >> 12]);
    }

    /// Code hook: if the instruction at `pc` is a load/store into a hooked region, count it.
    fn step(&mut self, uc: &mut Unicorn<()>, pc: u32) {
        let insns = &self.block.1;
        // Instructions an IT block skips fire no hook: search forward.
        while self.cursor < insns.len() && insns[self.cursor].addr < pc {
            self.cursor += 1;
        }
        let Some(insn) = insns.get(self.cursor).filter(|i| i.addr == pc) else { return };
        let Some(mem) = insn.mem else { return };
        self.mem_executions += 1;
        let (lo, hi) = reach(uc, insn, mem, pc);
        if self.hooked.iter().any(|&(s, e)| (lo as u64) < e && (hi as u64) >= s as u64) {
            *self.counts.entry((self.block.0, pc)).or_default() += 1;
            *self.hooked_pages.entry(lo >> 12).or_default() += 1;
        }
    }

    /// Per-site totals, the capture classes and what per-block capture would read, from
    /// the per-(block, pc) counts.
    fn finish(self) -> Survey {
        let mut sites: HashMap<u32, MemSite> = HashMap::new();
        let mut in_block: HashMap<u32, MemSite> = HashMap::new();
        let mut capture = HashMap::new();
        let mut entry_regs: FxHashMap<u32, Vec<i32>> = FxHashMap::default();
        for (&(block, pc), &n) in &self.counts {
            let insns = &self.blocks[&block];
            let k = insns.iter().position(|i| i.addr == pc).unwrap();
            let mem = insns[k].mem.unwrap();
            let class = classify(&insns[..k], mem);
            *capture.entry(class).or_default() += n;
            sites.entry(pc).or_insert(MemSite { pc, mem, executions: 0 }).executions += n;
            match class {
                Capture::Computed | Capture::Loaded => in_block.entry(pc).or_insert(MemSite { pc, mem, executions: 0 }).executions += n,
                Capture::Static => {}
                _ => {
                    let regs = entry_regs.entry(block).or_default();
                    for r in [Some(mem.base), mem.index].into_iter().flatten().map(arm_reg) {
                        if !regs.contains(&r) {
                            regs.push(r);
                        }
                    }
                }
            }
        }
        let by_pc = |m: HashMap<u32, MemSite>| {
            let mut v: Vec<MemSite> = m.into_values().collect();
            v.sort_by_key(|s| s.pc);
            v
        };
        let entry_regs = entry_regs.into_iter().map(|(b, r)| (b, r.into_boxed_slice())).collect();
        let on_code_pages = self.hooked_pages.iter().filter(|(p, _)| self.code_pages.contains(p)).map(|(_, n)| n).sum();
        Survey {
            sites: by_pc(sites),
            mem_executions: self.mem_executions,
            capture,
            entry_regs,
            in_block: by_pc(in_block),
            code_pages: self.code_pages,
            on_code_pages,
        }
    }
}

/// The memory operand of an LDM/STM/PUSH/POP/VLDM/VSTM, for which the decoder gives only
/// the base of the list (`Insn::list_base`).
fn transfer_list_operand(insn: &Insn) -> Option<MemOperand> {
    let base = insn.list_base?;
    Some(MemOperand { base, writeback: insn.writes.contains(base), width: 4, ..Default::default() })
}

/// The unicorn register id of register number `r` (r0–r15), through simbench's map.
pub fn arm_reg(r: u8) -> i32 {
    core_reg(r).expect("the decoder gives r0-r15") as i32
}

fn read(uc: &Unicorn<()>, r: u8) -> u32 {
    read_core_reg(uc, r)
}

/// The lowest and highest byte address `insn` can touch with the registers as they are
/// before it runs. Only the region matters, so pre- and post-indexing are not told apart
/// (the offset is applied either way) and multiple transfers span both directions.
fn reach(uc: &Unicorn<()>, insn: &Insn, mem: MemOperand, pc: u32) -> (u32, u32) {
    let base = if mem.pc_relative { (pc + 4) & !3 } else { read(uc, mem.base) };
    let multiple = matches!(insn.class, Class::LoadMultiple | Class::StoreMultiple | Class::FpLoadMultiple | Class::FpStoreMultiple);
    if multiple {
        let span = 4 * insn.nregs.max(1) as u32;
        return (base.wrapping_sub(span), base.wrapping_add(span - 1));
    }
    let index = mem.index.map_or(0, |i| read(uc, i) << mem.shift);
    let addr = base.wrapping_add(index).wrapping_add(mem.disp as u32);
    (addr, addr.wrapping_add(mem.width.max(1) as u32 - 1))
}

/// How per-block capture could know the address of an access with operand `mem`, after
/// the block's instructions `before` it.
fn classify(before: &[Insn], mem: MemOperand) -> Capture {
    if mem.pc_relative {
        return Capture::Static;
    }
    // A load/store's writeback adds a static offset (loading into its own base with
    // writeback is UNPREDICTABLE, so its write of the base is the writeback).
    let moves_by_writeback = |i: &Insn, r: u8| i.mem.is_some_and(|m| m.writeback && m.base == r);
    let writes_other = |i: &Insn, r: u8| i.writes.contains(r) && !moves_by_writeback(i, r);
    let written = |r: u8| before.iter().any(|i| i.writes.contains(r) || moves_by_writeback(i, r));
    let regs = [Some(mem.base), mem.index];
    let regs = regs.iter().flatten().copied().filter(|&r| r != REG_PC);
    if !regs.clone().any(written) {
        Capture::EntryRegisters
    } else if !regs.clone().any(|r| before.iter().any(|i| writes_other(i, r))) {
        Capture::AfterWriteback
    } else if regs.clone().any(|r| loaded(before, r)) {
        Capture::Loaded
    } else {
        Capture::Computed
    }
}

/// Whether register `r`'s value after `before` depends on a load among them: its last
/// writer is a load (other than by writeback), or reads a register that does.
fn loaded(before: &[Insn], r: u8) -> bool {
    let Some(j) = before.iter().rposition(|i| i.writes.contains(r)) else { return false };
    let w = &before[j];
    if w.class.is_load() && !w.mem.is_some_and(|m| m.writeback && m.base == r) {
        return true;
    }
    (0..16).filter(|&s| w.reads.contains(s) && s != REG_PC).any(|s| loaded(&before[..j], s))
}
