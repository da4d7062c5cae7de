//! The placement advisor (`simbench place`): which functions and objects to move into
//! faster memory, predicted by what-if runs instead of relinks.
//!
//! 1. A baseline run with `--stalls` says where the wait cycles go; its memory truth
//!    (sections, stack peak, heap) says how much room each RAM region has left.
//! 2. Each of the symbols with the most stalls is timed in each RAM region it could live
//!    in, one `--place` what-if run apiece (in parallel; execution is unchanged, so the
//!    runs pair exactly with the baseline).
//! 3. Moves are taken greedily by cycles saved per byte while they fit: room is the
//!    scarce resource, and a small hot kernel saves more per byte than a large array.
//! 4. One more what-if run with every chosen move verifies the total: moves interact
//!    (two symbols sharing a flash line or a cache), so the sum is only a first guess.

use crate::error::SimError;
use crate::image::Image;
use crate::machine::{Echo, RunOptions, Stop};
use crate::placement::{used_bytes, PlaceSpec};
use crate::runner::{describe_stop, run_to_report, Finished};
use simbench_cores::board::{Board, RegisterEffect};
use simbench_profiles::advice::{percent, Advice, Candidate, Change, Move, RegionBytes, RegionRoom, Total, SCHEMA};
use simbench_profiles::Report;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What the user can tune.
#[derive(Clone, Debug)]
pub struct AdviceOptions {
    /// How many symbols (by stall cycles) are timed in each region.
    pub candidates: usize,
    /// `--budget REGION=BYTES`: at most this many bytes of moves into REGION.
    pub budgets: Vec<(String, u64)>,
    /// Threads for the what-if runs (results do not depend on it).
    pub jobs: usize,
}

/// A move must save at least this fraction of the baseline (1/10,000 = 0.01 %): below
/// it, the relink costs more attention than the cycles are worth.
const MIN_SAVING_PARTS: u64 = 10_000;

/// The metric a run is judged by: inference cycles when it has an inference.
fn metric(r: &Report, inference: bool) -> u64 {
    if inference {
        r.profile.as_ref().map_or(0, |p| p.inference_cycles)
    } else {
        r.cycles
    }
}

/// Run `path` as given (`Err(finished)` when the baseline run does not exit 0: there is
/// nothing to advise on) and advise.
pub fn advise(path: &Path, opts: &RunOptions, a: &AdviceOptions) -> Result<Result<Advice, Finished>, SimError> {
    let image = Image::from_file(path)?;
    let board = &opts.board;
    for (name, _) in &a.budgets {
        if !board.regions.iter().any(|r| &r.name == name && r.kind.writable()) {
            let rams: Vec<&str> = board.regions.iter().filter(|r| r.kind.writable()).map(|r| r.name.as_str()).collect();
            return Err(SimError::Usage(format!("--budget {name}=…: board '{}' has no RAM region '{name}' (it has: {})", board.name, rams.join(", "))));
        }
    }
    let base_opts = RunOptions { stalls: true, placements: Vec::new(), ..opts.clone() };
    let base = run_to_report(path, &base_opts)?;
    if base.stop != Stop::Exit(0) {
        return Ok(Err(base));
    }
    let report = &base.report;
    let inference = report.profile.as_ref().is_some_and(|p| p.inference_cycles > 0);
    let baseline = metric(report, inference);
    let mut rooms = Rooms::new(&image, board, report, &a.budgets);
    let mut notes = Vec::new();
    if rooms.pool_banks > 0 {
        notes.push(format!(
            "FlexRAM: {} bank(s) of {} KiB lie beyond the banks the image reaches; its TCM/OCRAM windows share them (a move that needs one says so)",
            rooms.pool_banks,
            rooms.bank_bytes / 1024
        ));
    }

    // Candidates: the symbols with the most stalls, each in each RAM region it may use.
    let stalled = report.stalls.as_ref().map_or(&[][..], |s| &s.symbols[..]);
    let mut candidates: Vec<Candidate> = Vec::new();
    for s in stalled.iter().filter(|s| (s.kind == "function" || s.kind == "object") && s.size > 0).take(a.candidates) {
        for (ri, r) in board.regions.iter().enumerate() {
            let code = s.kind == "function";
            if !r.kind.writable() || r.name == s.region || (code && !executable(&r.name)) || !rooms.could_hold(ri, s.size) {
                continue;
            }
            candidates.push(Candidate {
                symbol: s.name.clone(),
                kind: s.kind.clone(),
                size: s.size,
                section: s.section.clone(),
                region: s.region.clone(),
                stall_cycles: s.stalls.total(),
                to: r.name.clone(),
                saving_cycles: 0,
                saving_per_byte: 0.0,
                chosen: false,
                why_not: None,
            });
        }
    }
    if stalled.is_empty() {
        notes.push("the run has no memory wait cycles: every access is already zero-wait".into());
    }

    // One what-if run per candidate, on `jobs` threads; results by index.
    let whatif = |places: Vec<PlaceSpec>| -> Result<u64, String> {
        let o = RunOptions { stalls: false, placements: places, echo: Echo::Quiet, ..opts.clone() };
        let f = run_to_report(path, &o).map_err(|e| e.to_string())?;
        // Execution does not change with timing, except where the firmware reads a cycle
        // counter: printing another count takes a few instructions more or less (tolerated
        // as the range's re-timing runs tolerate it).
        let (a, b) = (report.instructions, f.report.instructions);
        if f.stop != base.stop || !crate::retime::same_path_instructions(a, b) {
            return Err(format!("the what-if run {} after {b} instructions, the baseline after {a}: not the same program path", describe_stop(&f.stop)));
        }
        Ok(metric(&f.report, inference))
    };
    let results = parallel(candidates.len(), a.jobs, |i| whatif(vec![PlaceSpec { symbol: candidates[i].symbol.clone(), region: candidates[i].to.clone() }]));
    for (c, r) in candidates.iter_mut().zip(results) {
        match r {
            Ok(cycles) => {
                c.saving_cycles = baseline as i64 - cycles as i64;
                c.saving_per_byte = c.saving_cycles as f64 / c.size as f64;
            }
            Err(e) => c.why_not = Some(format!("not timed: {e}")),
        }
    }

    // Greedy by saving per byte (ties: a region with a known linker-script recipe first,
    // then names, so the choice never depends on thread timing).
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&x, &y| {
        let (p, q) = (&candidates[x], &candidates[y]);
        q.saving_per_byte
            .total_cmp(&p.saving_per_byte)
            .then_with(|| recipe(&board.name, &q.kind, &q.to).is_some().cmp(&recipe(&board.name, &p.kind, &p.to).is_some()))
            .then_with(|| p.symbol.cmp(&q.symbol))
            .then_with(|| p.to.cmp(&q.to))
    });
    let mut moves: Vec<Move> = Vec::new();
    let mut banks_taken = vec![0u64; board.regions.len()];
    for i in order {
        let c = &candidates[i];
        if c.why_not.is_some() {
            continue;
        }
        let why = if c.saving_cycles <= 0 {
            Some("saves nothing".to_string())
        } else if (c.saving_cycles as u64).saturating_mul(MIN_SAVING_PARTS) < baseline {
            Some(format!("saves under 1/{MIN_SAVING_PARTS} of the baseline: not worth a linker-script change"))
        } else if moves.iter().any(|m| m.symbol == c.symbol) {
            Some("moved to another region already".to_string())
        } else {
            let ri = board.regions.iter().position(|r| r.name == c.to).unwrap_or(0);
            match rooms.take(ri, c.size) {
                Ok(new_banks) => {
                    banks_taken[ri] += new_banks;
                    moves.push(Move {
                        symbol: c.symbol.clone(),
                        kind: c.kind.clone(),
                        size: c.size,
                        section: c.section.clone(),
                        from: c.region.clone(),
                        to: c.to.clone(),
                        saving_cycles: c.saving_cycles,
                        saving_percent: percent(c.saving_cycles, baseline),
                        change: change(board, c, raw_name(&image, &c.symbol)),
                    });
                    None
                }
                Err(e) => Some(e),
            }
        };
        let c = &mut candidates[i];
        c.chosen = why.is_none();
        c.why_not = why;
    }

    let total = if moves.is_empty() {
        Total { predicted_sum_cycles: 0, verified_cycles: None, verified_saving_cycles: 0, verified_saving_percent: 0.0, bytes_by_region: vec![] }
    } else {
        let places = moves.iter().map(|m| PlaceSpec { symbol: m.symbol.clone(), region: m.to.clone() }).collect();
        let verified = whatif(places).map_err(|e| SimError::Internal(format!("the what-if run with every chosen move failed: {e}")))?;
        let saving = baseline as i64 - verified as i64;
        let bytes_by_region = board
            .regions
            .iter()
            .filter_map(|r| {
                let bytes: u64 = moves.iter().filter(|m| m.to == r.name).map(|m| m.size).sum();
                (bytes > 0).then(|| RegionBytes { region: r.name.clone(), bytes })
            })
            .collect();
        Total {
            predicted_sum_cycles: moves.iter().map(|m| m.saving_cycles).sum(),
            verified_cycles: Some(verified),
            verified_saving_cycles: saving,
            verified_saving_percent: percent(saving, baseline),
            bytes_by_region,
        }
    };
    for (r, &n) in board.regions.iter().zip(&banks_taken).filter(|(_, n)| **n > 0) {
        notes.push(format!(
            "FlexRAM: the moves to {} need {n} bank(s) ({} KiB) beyond the banks the image reaches now: the linker script must give {} that much more LENGTH and the firmware must assign the bank(s) (IOMUXC_GPR17/GPR16, before using them)",
            r.name,
            n * rooms.bank_bytes / 1024,
            r.name.to_uppercase()
        ));
    }
    if !inference {
        notes.push("no inference in the run (no operator profile): savings are on the whole run's cycles".into());
    }
    Ok(Ok(Advice {
        schema: SCHEMA.into(),
        simbench_version: env!("CARGO_PKG_VERSION").into(),
        firmware: report.firmware.file.clone(),
        board: board.name.clone(),
        timing: report.timing.mode.clone(),
        metric: if inference { "inference_cycles" } else { "cycles" }.into(),
        baseline_cycles: baseline,
        regions: rooms.report(),
        candidates,
        moves,
        total,
        notes,
    }))
}

/// Run `f(0..n)` on up to `jobs` threads; results in index order whatever the timing.
fn parallel<T: Send>(n: usize, jobs: usize, f: impl Fn(usize) -> Result<T, String> + Sync) -> Vec<Result<T, String>> {
    let next = AtomicUsize::new(0);
    let mut out: Vec<Option<Result<T, String>>> = (0..n).map(|_| None).collect();
    let done: Vec<Vec<(usize, Result<T, String>)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs.clamp(1, n.max(1)))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break mine;
                        }
                        mine.push((i, f(i)));
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_default()).collect()
    });
    for (i, r) in done.into_iter().flatten() {
        out[i] = Some(r);
    }
    out.into_iter().map(|r| r.unwrap_or_else(|| Err("the what-if run panicked".into()))).collect()
}

/// Code cannot run from a Cortex-M7's DTCM (its instruction side has no path there).
fn executable(region: &str) -> bool {
    !region.contains("dtcm")
}

/// Room in each RAM region, and the FlexRAM banks no region uses yet.
///
/// FlexRAM (i.MX RT): the ITCM, DTCM and OCRAM windows share `banks × bank_kib`; the
/// firmware assigns the banks. Each window is counted with the banks its image reaches
/// (sections, and the stack top for the stack's region), or the sizes the firmware set
/// when it programmed the assignment during the run; the rest is a pool any window can
/// take whole banks from.
struct Rooms {
    /// Free bytes per board region (0 for regions that are not RAM).
    free: Vec<u64>,
    rows: Vec<Option<RegionRoom>>,
    /// Regions that share the FlexRAM pool.
    pooled: Vec<bool>,
    pool_banks: u64,
    bank_bytes: u64,
    budget_left: Vec<Option<u64>>,
}

impl Rooms {
    fn new(image: &Image, board: &Board, report: &Report, budgets: &[(String, u64)]) -> Rooms {
        let n = board.regions.len();
        let memory = report.memory.as_ref();
        let initial_sp = u32::from_str_radix(report.firmware.initial_sp.trim_start_matches("0x"), 16).ok();
        let stack_top = image.first_symbol_addr(&["__stack_top", "__StackTop", "_estack"]).or(initial_sp);
        let stack_reserved = match (stack_top, image.first_symbol_addr(&["__stack_limit__", "__StackLimit"])) {
            (Some(t), Some(l)) if l < t => (t - l) as u64,
            _ => 0,
        };
        let stack_bytes = memory.and_then(|m| m.stack_peak_bytes).unwrap_or(0).max(stack_reserved);
        let stack_region = stack_top.and_then(|sp| board.stack_region(sp)).map(|r| r.name.clone());
        let heap_region = image.first_symbol_addr(&["__heap_start__", "__HeapBase"]).and_then(|a| board.region_of(a)).map(|(_, r)| r.name.clone());
        let heap_bytes = memory.and_then(|m| m.heap_used_bytes).unwrap_or(0);
        let flexram = board.registers.iter().flat_map(|r| &r.effects).find_map(|e| match e {
            RegisterEffect::FlexramBanks { banks, bank_kib, itcm, dtcm, ocram } => {
                Some((*banks as u64, *bank_kib as u64 * 1024, [itcm.clone(), dtcm.clone(), ocram.clone()]))
            }
            _ => None,
        });
        let configured = flexram_configured(report);
        let (total_banks, bank_bytes, pool_names) = flexram.clone().unwrap_or((0, 0, Default::default()));
        let mut rooms = Rooms { free: vec![0; n], rows: vec![None; n], pooled: vec![false; n], pool_banks: 0, bank_bytes, budget_left: vec![None; n] };
        let mut banks_used = 0u64;
        for (ri, r) in board.regions.iter().enumerate() {
            if !r.kind.writable() {
                continue;
            }
            let sections = used_bytes(image, board, ri);
            let stack = if stack_region.as_deref() == Some(r.name.as_str()) { stack_bytes } else { 0 };
            let heap = if heap_region.as_deref() == Some(r.name.as_str()) { heap_bytes } else { 0 };
            let pos = pool_names.iter().position(|p| p == &r.name);
            let limit = match (pos, &configured) {
                (Some(i), Some(kib)) => (kib[i] * 1024).min(r.size as u64),
                (Some(_), None) => {
                    // The banks the image reaches into: its sections' ends and the stack top.
                    let top = image
                        .sections
                        .iter()
                        .filter(|s| r.contains(s.addr) && s.size > 0)
                        .map(|s| s.addr as u64 + s.size as u64)
                        .chain(stack_top.filter(|_| stack > 0).map(|t| t as u64))
                        .max()
                        .map_or(0, |end| end - r.base as u64);
                    let banks = top.div_ceil(bank_bytes.max(1));
                    banks_used += banks;
                    rooms.pooled[ri] = configured.is_none();
                    banks * bank_bytes
                }
                _ => r.size as u64,
            };
            let budget = budgets.iter().rev().find(|(b, _)| b == &r.name).map(|(_, n)| *n);
            rooms.free[ri] = limit.saturating_sub(sections + stack + heap);
            rooms.budget_left[ri] = budget;
            rooms.rows[ri] = Some(RegionRoom {
                name: r.name.clone(),
                kind: r.kind.name().into(),
                limit_bytes: limit,
                section_bytes: sections,
                stack_bytes: stack,
                heap_bytes: heap,
                free_bytes: rooms.free[ri].min(budget.unwrap_or(u64::MAX)),
                shared_bytes: 0,
                budget_bytes: budget,
            });
        }
        if flexram.is_some() && configured.is_none() {
            rooms.pool_banks = total_banks.saturating_sub(banks_used);
            let shared = rooms.pool_banks * bank_bytes;
            for (row, _) in rooms.rows.iter_mut().zip(&rooms.pooled).filter(|(_, p)| **p) {
                if let Some(row) = row {
                    row.shared_bytes = shared.min(row.budget_bytes.unwrap_or(u64::MAX));
                }
            }
        }
        rooms
    }

    fn pool_bytes(&self, ri: usize) -> u64 {
        if self.pooled[ri] {
            self.pool_banks * self.bank_bytes
        } else {
            0
        }
    }

    fn could_hold(&self, ri: usize, size: u64) -> bool {
        size <= (self.free[ri] + self.pool_bytes(ri)).min(self.budget_left[ri].unwrap_or(u64::MAX))
    }

    /// Reserve `size` bytes of region `ri` (rounded up to a word): the FlexRAM banks it
    /// newly takes from the pool, or why it does not fit.
    fn take(&mut self, ri: usize, size: u64) -> Result<u64, String> {
        let size = size.div_ceil(4) * 4;
        if let Some(b) = self.budget_left[ri] {
            if size > b {
                return Err(format!("over the --budget: {b} bytes left"));
            }
        }
        let mut banks = 0;
        if size > self.free[ri] {
            if size > self.free[ri] + self.pool_bytes(ri) {
                return Err(format!("does not fit: {} bytes free", self.free[ri] + self.pool_bytes(ri)));
            }
            banks = (size - self.free[ri]).div_ceil(self.bank_bytes);
            self.pool_banks -= banks;
            self.free[ri] += banks * self.bank_bytes;
        }
        self.free[ri] -= size;
        if let Some(b) = self.budget_left[ri].as_mut() {
            *b -= size;
        }
        Ok(banks)
    }

    /// The rows of the RAM regions.
    fn report(&self) -> Vec<RegionRoom> {
        self.rows.iter().flatten().cloned().collect()
    }
}

/// FlexRAM sizes (ITCM, DTCM, OCRAM KiB) when the firmware programmed the assignment
/// during the run (the last "FlexRAM ITCM i KiB, DTCM d KiB, OCRAM o KiB" setting).
fn flexram_configured(report: &Report) -> Option<[u64; 3]> {
    report.configuration.iter().rev().find_map(|c| parse_flexram(&c.setting))
}

fn parse_flexram(setting: &str) -> Option<[u64; 3]> {
    let s = setting.strip_prefix("FlexRAM ")?;
    let kib: Vec<u64> = s.split(',').filter_map(|part| part.split_whitespace().nth(1)?.parse().ok()).collect();
    <[u64; 3]>::try_from(kib).ok()
}

/// How the board's linker script in `runtime/boards/` takes a function (`code`) or an
/// object into a region: (input section, the output section as the script writes it,
/// start-up note). `tests/placement.rs` checks each line against the scripts.
pub fn recipe(board: &str, kind: &str, region: &str) -> Option<(&'static str, &'static str, &'static str)> {
    let code = kind == "function";
    Some(match (board, code, region) {
        ("lpc55s69", true, "sramx") => (
            ".ramfunc",
            ".ramfunc : { *(.ramfunc .ramfunc.*) … } > SRAMX AT> FLASH",
            "Reset_Handler copies .ramfunc from flash (copy table); calls from flash reach it through linker veneers",
        ),
        ("lpc55s69", false, "sramx") => {
            (".sramx", ".ramfunc : { … *(.sramx .sramx.*) … } > SRAMX AT> FLASH", "Reset_Handler copies .ramfunc (with .sramx) from flash (copy table)")
        }
        ("lpc55s69", false, "sram") => {
            (".data", ".data : { *(.data .data.* …) … } > SRAM AT> FLASH", "Reset_Handler copies .data from flash; the object may stay const")
        }
        ("mimxrt1011", true, "itcm") | ("mimxrt1011", false, "itcm") => (
            ".itcm_text",
            ".itcm_text 0x00000008 : { *(.itcm_text .itcm_text.*) … } > ITCM AT> FLASH",
            "Reset_Handler copies .itcm_text from flash (copy table); calls from flash reach it through linker veneers",
        ),
        ("mimxrt1011", false, "dtcm") => {
            (".data", ".data : { *(.data .data.* …) … } > DTCM AT> FLASH", "Reset_Handler copies .data from flash; the object may stay const")
        }
        ("mimxrt1011", _, "ocram") => (
            ".ocram_data",
            ".ocram_data : { *(.ocram_data .ocram_data.*) … } > OCRAM AT> FLASH",
            "Reset_Handler copies .ocram_data from flash (copy table); the script gives OCRAM LENGTH = 0: give it a FlexRAM bank first",
        ),
        _ => return None,
    })
}

/// The symbol's ELF (mangled) name, for the input section `-ffunction-sections` /
/// `-fdata-sections` give it.
fn raw_name<'a>(image: &'a Image, symbol: &'a str) -> &'a str {
    image.sized_symbol(symbol).map_or(symbol, |s| s.name.as_str())
}

/// What the firmware must change to follow a move.
fn change(board: &Board, c: &Candidate, raw: &str) -> Change {
    let (kind, region) = (c.kind.as_str(), c.to.as_str());
    let name = c.symbol.split('(').next().unwrap_or(&c.symbol).rsplit("::").next().unwrap_or(&c.symbol);
    let (section, attribute, linker_script, note) = match recipe(&board.name, kind, region) {
        Some((section, line, note)) => (
            section.to_string(),
            format!("__attribute__((section(\"{section}.{name}\")))"),
            format!("{line} (runtime/boards/{}.ld)", board.name),
            note.to_string(),
        ),
        None => {
            let section = format!(".{region}_{}", if kind == "function" { "text" } else { "data" });
            (
                section.clone(),
                format!("__attribute__((section(\"{section}\")))"),
                format!(
                    "add `{section} : {{ *({section} {section}.*) }} > {} AT> FLASH` (the region's and flash's MEMORY names in your script)",
                    region.to_uppercase()
                ),
                format!("copy {section} from its load address to '{region}' at start-up, before main"),
            )
        }
    };
    // The object file keeps the symbol in its own input section (a linker script takes an
    // input section by the first pattern that matches it, so renaming it is the reliable
    // way to move library code without editing its source).
    let without_source_change = format!(
        "arm-none-eabi-objcopy --rename-section {0}.{raw}={section}.{raw} FILE.o (its object, built with -ffunction-sections/-fdata-sections)",
        c.section
    );
    Change { attribute, linker_script, note, without_source_change }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flexram_settings_parse() {
        // The text `machine/settings.rs` writes for an IOMUXC_GPR17 write.
        assert_eq!(parse_flexram("FlexRAM ITCM 64 KiB, DTCM 64 KiB, OCRAM 0 KiB"), Some([64, 64, 0]));
        assert_eq!(parse_flexram("FlexRAM ITCM 64 KiB"), None);
        assert_eq!(parse_flexram("cache on"), None);
    }

    #[test]
    fn code_stays_out_of_dtcm_and_recipes_name_their_scripts() {
        assert!(!executable("dtcm") && executable("itcm") && executable("sramx"));
        assert_eq!(recipe("lpc55s69", "function", "sramx").map(|r| r.0), Some(".ramfunc"));
        assert_eq!(recipe("mimxrt1011", "object", "dtcm").map(|r| r.0), Some(".data"));
        assert_eq!(recipe("lpc55s69", "function", "sram"), None);
        let board = Board::preset("lpc55s69").unwrap();
        let cand = |to: &str| Candidate {
            symbol: "ns::kernel(int)".into(),
            kind: "function".into(),
            size: 4,
            section: ".text".into(),
            region: "flash".into(),
            stall_cycles: 1,
            to: to.into(),
            saving_cycles: 1,
            saving_per_byte: 0.25,
            chosen: true,
            why_not: None,
        };
        let c = change(&board, &cand("sram"), "_ZN2ns6kernelEi");
        assert_eq!(c.attribute, "__attribute__((section(\".sram_text\")))");
        assert!(c.without_source_change.ends_with(
            "--rename-section .text._ZN2ns6kernelEi=.sram_text._ZN2ns6kernelEi FILE.o (its object, built with -ffunction-sections/-fdata-sections)"
        ));
        let c = change(&board, &cand("sramx"), "_ZN2ns6kernelEi");
        assert_eq!(c.attribute, "__attribute__((section(\".ramfunc.kernel\")))");
        assert!(c.without_source_change.contains("--rename-section .text._ZN2ns6kernelEi=.ramfunc._ZN2ns6kernelEi "));
    }
}
