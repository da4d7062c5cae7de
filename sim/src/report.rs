//! From a finished run to the report structure of `simbench-profiles`.

use crate::image::Image;
use crate::machine::{RunOptions, RunResult, Stop};
use crate::profile::operators::{attribute, find_model, Inputs, ProfileMode};
use sha2::{Digest, Sha256};
use simbench_cores::memsys::CacheStats;
use simbench_cores::Fidelity;
use simbench_profiles::profile::MemoryUse;
use simbench_profiles::report::{
    self, hex32, BoardInfo, CacheCounters, ConfigEntry, ExceptionCount, ExceptionSummary, FirmwareInfo, HostInfo, Marker, Outcome, PredictorCounters,
    RegionStats, RegisterAccess, Report, TimingInfo,
};

/// Modelled time: cycles at the board clock, or piecewise when the firmware changed the
/// core clock through a modelled divider register.
fn latency_us(r: &RunResult, preset_mhz: f64) -> f64 {
    let (mut us, mut from, mut mhz) = (0.0, 0u64, preset_mhz);
    for c in &r.configuration {
        if let Some(new) = c.clock_mhz {
            us += c.cycle.saturating_sub(from) as f64 / mhz;
            (from, mhz) = (c.cycle, new);
        }
    }
    us + r.cycles.saturating_sub(from) as f64 / mhz
}

fn counters(c: CacheStats) -> CacheCounters {
    CacheCounters { hits: c.hits, misses: c.misses }
}

/// Build the report. `file_name` and `bytes` describe the firmware file as given.
pub fn build(file_name: &str, bytes: &[u8], image: &Image, opts: &RunOptions, r: &RunResult) -> Report {
    let board = &r.board;
    let outcome = outcome_of(&r.stop, image);
    let regions = region_stats(board, r);
    let secs = r.wall.as_secs_f64();
    let model = if opts.profile == ProfileMode::Off { None } else { opts.model.clone().or_else(|| find_model(image)) };
    let attribution = r.profiler.as_ref().and_then(|p| {
        let inputs = Inputs {
            image,
            model: model.as_ref(),
            clock_mhz: board.clock_mhz,
            markers: &r.markers,
            calls: p.recorded_calls(),
            parents: p.parent_spans(),
            entries: p.entry_spans(),
        };
        attribute(opts.profile, &inputs)
    });
    let mut trace = attribution.as_ref().map(|a| a.slices.clone()).unwrap_or_default();
    if let Some(p) = &r.profiler {
        trace.extend(p.trace().0);
    }
    Report {
        schema: report::SCHEMA.into(),
        simbench_version: env!("CARGO_PKG_VERSION").into(),
        firmware: FirmwareInfo {
            file: file_name.into(),
            bytes: bytes.len() as u64,
            sha256: format!("{:x}", Sha256::digest(bytes)),
            entry: hex32(r.initial_pc),
            initial_sp: hex32(r.initial_sp),
        },
        board: BoardInfo { name: board.name.clone(), core: board.core.name().into(), clock_mhz: board.clock_mhz, mapped_for_image: r.mapped_for_image.clone() },
        timing: timing_info(opts, r),
        outcome,
        instructions: r.instructions,
        cycles: r.cycles,
        cpi: if r.instructions > 0 { r.cycles as f64 / r.instructions as f64 } else { 0.0 },
        latency_us: latency_us(r, board.clock_mhz),
        configuration: r.configuration.iter().map(|c| ConfigEntry { register: c.register.clone(), setting: c.setting.clone(), cycle: c.cycle }).collect(),
        regions,
        instruction_mix: r.instruction_mix.iter().map(|(c, n)| (c.name().to_string(), *n)).collect(),
        markers: r.markers.iter().map(|m| Marker { port: m.port, value: m.value, cycles: m.cycles, pc: hex32(m.pc) }).collect(),
        markers_dropped: r.markers_dropped,
        unmodelled_registers: r.unmodelled_registers.iter().map(|&(a, rd, wr)| RegisterAccess { address: hex32(a), reads: rd, writes: wr }).collect(),
        exceptions: (!r.exceptions.taken.is_empty()).then(|| ExceptionSummary {
            taken: r.exceptions.taken.iter().map(|&(n, taken)| ExceptionCount { number: n as u32, name: crate::machine::exception_name(n), taken }).collect(),
            tail_chains: r.exceptions.tail_chains,
            lazy_fp_saves: r.exceptions.lazy_fp_saves,
        }),
        firmware_output: String::from_utf8_lossy(&r.output).into_owned(),
        firmware_output_truncated: r.output_truncated,
        semihosting_notes: r.semihosting_notes.clone(),
        profile: attribution.as_ref().map(|a| a.summary.clone()),
        operators: attribution.as_ref().map(|a| a.rows.clone()).unwrap_or_default(),
        functions: r.profiler.as_ref().map(|p| p.functions()).unwrap_or_default(),
        call_edges: r.profiler.as_ref().map(|p| p.call_edges()).unwrap_or_default(),
        stacks: r.profiler.as_ref().map(|p| p.stacks()).unwrap_or_default(),
        error: r.error.clone(),
        placements: crate::stalls::placements(board, &r.placed),
        stalls: r.stalls.as_ref().map(|log| crate::stalls::report(log, attribution.as_ref().map_or(&[][..], |a| &a.rows[..]))),
        range: None,
        memory: (opts.profile != ProfileMode::Off).then(|| memory_use(image, board, r)),
        trace,
        host: HostInfo {
            wall_seconds: secs,
            simulated_mips: if secs > 0.0 { r.instructions as f64 / secs / 1e6 } else { 0.0 },
            blocks_decoded: r.blocks_decoded,
            block_entries_replayed: r.block_entries_replayed,
            data_accesses_logged: r.data_accesses_logged,
            data_accesses_folded: r.data_accesses_folded,
        },
    }
}

/// How the run ended, with the symbol at a fault or limit.
fn outcome_of(stop: &Stop, image: &Image) -> Outcome {
    match stop {
        Stop::Exit(status) => Outcome { kind: "exit".into(), exit_status: Some(*status), message: None, pc: None, symbol: None },
        Stop::Fault { kind, message, pc } => Outcome {
            kind: "fault".into(),
            exit_status: None,
            message: Some(format!("[{kind}] {message}")),
            pc: Some(hex32(*pc)),
            symbol: Some(image.describe(*pc)),
        },
        Stop::Limit { message, pc } | Stop::Parked { message, pc } | Stop::Interrupted { message, pc, .. } => {
            let kind = match stop {
                Stop::Parked { .. } => "parked",
                Stop::Interrupted { .. } => "interrupted",
                _ => "limit",
            };
            Outcome { kind: kind.into(), exit_status: None, message: Some(message.clone()), pc: Some(hex32(*pc)), symbol: Some(image.describe(*pc)) }
        }
    }
}

/// Per-region fetch and data counters, beside the board's description of each region.
fn region_stats(board: &simbench_cores::Board, r: &RunResult) -> Vec<RegionStats> {
    board
        .regions
        .iter()
        .zip(&r.regions)
        .map(|(reg, c)| RegionStats {
            name: reg.name.clone(),
            kind: reg.kind.name().into(),
            base: hex32(reg.base),
            size: reg.size as u64,
            instructions_fetched: c.instructions_fetched,
            fetch_wait_cycles: c.fetch_wait_cycles,
            data_reads: c.hooked.then_some(c.data_reads),
            data_writes: c.hooked.then_some(c.data_writes),
            data_wait_cycles: c.data_wait_cycles,
        })
        .collect()
}

/// The timing model and what the run's dynamic models counted.
fn timing_info(opts: &RunOptions, r: &RunResult) -> TimingInfo {
    TimingInfo {
        model: format!("{}-block-v2", r.board.core.name()),
        mode: opts.fidelity.name().into(),
        description: match opts.fidelity {
            Fidelity::Fast => "static issue timing per translation block (cores/src/timing), branch penalties from the next block, region wait states; caches and flash accelerators always hit",
            Fidelity::Detailed => "static issue timing per translation block (cores/src/timing), branch penalties from the next block (Cortex-M7: BTAC predictor), operand-dependent divide (M4/M33), region wait states, flash accelerator line buffers and prefetch, L1 caches (cores/src/memsys.rs)",
        }
        .into(),
        icache: r.icache.map(counters),
        dcache: r.dcache.map(counters),
        branch_predictor: r.branch_predictor.map(|(branches, mispredicted)| PredictorCounters { branches, mispredicted }),
        divides_timed: r.divides_timed,
        fast_ignores: match opts.fidelity {
            Fidelity::Fast => simbench_cores::fast_mode_ignores(&r.board),
            Fidelity::Detailed => Vec::new(),
        },
    }
}

/// Flash and RAM by section, with the stack, heap and arena use painting measured.
fn memory_use(image: &Image, board: &simbench_cores::Board, r: &RunResult) -> MemoryUse {
    let (sections, flash_bytes, ram_bytes) = crate::memtruth::sections(image, board);
    let probe = r.memory_probe.clone();
    MemoryUse {
        sections,
        flash_bytes,
        ram_bytes,
        stack_peak_bytes: probe.as_ref().and_then(|p| p.stack_peak_bytes),
        heap_used_bytes: probe.as_ref().and_then(|p| p.heap_used_bytes),
        arena: probe.and_then(|p| p.arena),
    }
}
