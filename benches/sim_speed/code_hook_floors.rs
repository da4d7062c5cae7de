//! Floors for issue 18's design (a): timing data accesses from code hooks on the
//! load/store instructions instead of memory hooks, so that unicorn keeps its fast TLB
//! path for every load and store. See docs/speed.md.

use super::mem_sites::{self, arm_reg, Capture, MemSite};
use super::{Floor, Floors};
use std::hint::black_box;
use unicorn_engine::Unicorn;

/// Hook-list lengths the `ListLength` floors add to one hook (1: the step from the
/// inline call to the list scan).
const DUMMIES: [usize; 5] = [0, 1, 10, 100, 1000];

/// Where the dummy hooks go: no firmware executes code there.
const NEVER_EXECUTED: u64 = 0xF000_0000;

/// Adds `floor`'s code hooks (none for the other floors).
pub fn add(uc: &mut Unicorn<()>, floor: Floor) {
    match floor {
        Floor::EveryInstruction => {
            uc.add_code_hook(1, 0, |_, _, _| {}).unwrap();
        }
        Floor::MemSites(sites) => sites.iter().for_each(|&s| add_site(uc, s)),
        Floor::EntryCapture(survey, true) => survey.in_block.iter().for_each(|&s| add_site(uc, s)),
        Floor::ListLength(site, n) => {
            add_site(uc, site);
            for i in 0..n as u64 {
                let at = NEVER_EXECUTED + 2 * i;
                uc.add_code_hook(at, at, |_, _, _| {}).unwrap();
            }
        }
        _ => {}
    }
}

/// A code hook on `site` alone whose callback reads the registers its address comes
/// from: the least a code-hook design pays to compute the effective address. PC-relative
/// literal loads read none (their address is static).
fn add_site(uc: &mut Unicorn<()>, site: MemSite) {
    let regs = if site.mem.pc_relative { [None, None] } else { [Some(arm_reg(site.mem.base)), site.mem.index.map(arm_reg)] };
    uc.add_code_hook(site.pc as u64, site.pc as u64, move |uc, _, _| {
        for r in regs.iter().flatten() {
            black_box(uc.reg_read(*r).unwrap());
        }
    })
    .unwrap();
}

/// Surveys the fixture's load/store instructions into `hooked` regions, prints what it
/// found (`sites:` and `capture:` lines), then the code-hook floors.
pub fn report(f: &Floors, hooked: &[usize]) {
    let ranges = hooked.iter().map(|&ri| (f.board.regions[ri].base, f.board.regions[ri].end())).collect();
    let survey = mem_sites::survey(f.image, f.board, ranges);
    let calls = survey.hooked_executions();
    let at = |c| survey.capture.get(&c).copied().unwrap_or(0) as f64 * 100.0 / calls.max(1) as f64;
    println!(
        "sites: {} on {}: {} load/store instructions reach hooked regions; they execute {:.2} M times there ({:.0}% of {:.2} M load/store executions, {:.1}% of instructions)",
        f.name,
        f.board.name,
        survey.sites.len(),
        calls as f64 / 1e6,
        100.0 * calls as f64 / survey.mem_executions.max(1) as f64,
        survey.mem_executions as f64 / 1e6,
        100.0 * calls as f64 / f.insns,
    );
    println!(
        "capture: {} on {}: of those executions, the address is static (PC-relative) in {:.1}%, from the block's entry registers in {:.1}%, from them after in-block writebacks in {:.1}%, computed in the block from entry registers in {:.1}%, from a value loaded in the block in {:.1}%",
        f.name,
        f.board.name,
        at(Capture::Static),
        at(Capture::EntryRegisters),
        at(Capture::AfterWriteback),
        at(Capture::Computed),
        at(Capture::Loaded),
    );
    f.time(
        &format!("the block hook + code hooks on those {} instructions reading their address registers", survey.sites.len()),
        Floor::MemSites(&survey.sites),
    );
    list_length_floors(f, &survey);
    let capture = format!("the block hook reading the address registers of {} blocks' hooked accesses at entry", survey.entry_regs.len());
    f.time(&capture, Floor::EntryCapture(&survey, false));
    let rest = format!("{capture} + code hooks on the {} instructions whose address the block computes or loads", survey.in_block.len());
    f.time(&rest, Floor::EntryCapture(&survey, true));
    f.time("the block hook + one empty code hook on every instruction", Floor::EveryInstruction);
    let unseen = 100.0 * survey.on_code_pages as f64 / calls.max(1) as f64;
    let label = format!("the block hook + the hooked regions' code-free pages as copy-backed MMIO, no memory hook ({unseen:.1}% of the hooked accesses are on code pages, unseen)");
    f.time(&label, Floor::MmioData(&survey, hooked));
}

/// The hottest site alone, then with 1, 10, 100 and 1000 dummy hooks after it: unicorn
/// calls a lone code hook inline, but scans the whole list for every call once there are
/// two or more (`helper_uc_tracecode`).
fn list_length_floors(f: &Floors, survey: &mem_sites::Survey) {
    let Some(&hot) = survey.sites.iter().max_by_key(|s| s.executions) else { return };
    let mut alone = None;
    for n in DUMMIES {
        let label = format!(
            "the block hook + a code hook on the hottest site (0x{:08x}, {:.2} M calls) + {n} never-executed code hooks",
            hot.pc,
            hot.executions as f64 / 1e6
        );
        let t = f.time(&label, Floor::ListLength(hot, n));
        match (alone, t) {
            (None, _) => alone = t,
            (Some(t0), Some(t)) => {
                println!("floor: {} on {}: {n} more hooks cost {:.1} ns per call", f.name, f.board.name, (t - t0) * 1e9 / hot.executions as f64)
            }
            _ => {}
        }
    }
}
