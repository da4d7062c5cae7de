//! The run report: what the simulator measured, in one serialisable structure.
//!
//! Everything outside `host` is a pure function of the ELF and the options, so two runs
//! give byte-identical JSON there. The schema is documented in `docs/report-schema.md`;
//! bump `SCHEMA` when a field changes meaning or disappears.

use crate::profile::{CallEdge, FunctionStat, MemoryUse, OperatorRow, OperatorSummary, StackSample, TraceSlice};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SCHEMA: &str = "simbench.report/2";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub schema: String,
    pub simbench_version: String,
    pub firmware: FirmwareInfo,
    pub board: BoardInfo,
    pub timing: TimingInfo,
    pub outcome: Outcome,
    pub instructions: u64,
    pub cycles: u64,
    pub cpi: f64,
    /// Latency at the board clock, in microseconds.
    pub latency_us: f64,
    pub regions: Vec<RegionStats>,
    /// Instructions executed per class (see `cores::insn::Class::name`).
    pub instruction_mix: BTreeMap<String, u64>,
    /// Values written to ITM stimulus ports 1–31, stamped with the modelled cycle.
    pub markers: Vec<Marker>,
    pub markers_dropped: u64,
    /// System-control registers accessed that simbench keeps as plain storage.
    pub unmodelled_registers: Vec<RegisterAccess>,
    /// Clock, wait-state, cache and memory settings the firmware changed through the
    /// board's modelled vendor registers, in order; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configuration: Vec<ConfigEntry>,
    /// Exceptions the firmware took (SysTick, SVCall, PendSV, IRQs, faults); absent when
    /// it took none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exceptions: Option<ExceptionSummary>,
    /// Everything the firmware printed (semihosting and ITM port 0), up to 1 MiB.
    pub firmware_output: String,
    pub firmware_output_truncated: bool,
    /// Semihosting requests simbench refused or could not read (host files off, a path
    /// leaving the host folder, writes not allowed, SYS_SYSTEM, bad handles or pointers,
    /// unknown operations): each was answered -1 with an errno, as a debugger does, and
    /// the run went on. Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub semihosting_notes: Vec<String>,
    /// How operators were found (`--profile`), and the inference totals; null with
    /// `--profile off`.
    #[serde(default)]
    pub profile: Option<OperatorSummary>,
    /// One row per executed operator, in execution order.
    #[serde(default)]
    pub operators: Vec<OperatorRow>,
    /// Per-function cycles, sorted by exclusive cycles (descending), then name.
    #[serde(default)]
    pub functions: Vec<FunctionStat>,
    /// Caller → callee edges, sorted by cycles (descending), then names.
    #[serde(default)]
    pub call_edges: Vec<CallEdge>,
    /// The call tree as folded stacks (root first), sorted by stack.
    #[serde(default)]
    pub stacks: Vec<StackSample>,
    /// Flash/RAM by section, stack, heap and arena use.
    #[serde(default)]
    pub memory: Option<MemoryUse>,
    /// Where and how a run that faulted or hit a limit stopped (null after a normal exit).
    #[serde(default)]
    pub error: Option<ErrorInfo>,
    /// `--place SYMBOL=REGION`: the address ranges timed as if they lived in another
    /// region (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placements: Vec<crate::stalls::Placement>,
    /// `--stalls`: memory wait cycles by symbol and operator (absent unless asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalls: Option<crate::stalls::StallReport>,
    /// What the board's assumptions imply: the run re-timed with every ranged value at its
    /// low and at its high end. Absent when the board has no ranges or with `--no-ranges`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<EstimateRange>,
    /// Operator and function slices on the modelled time axis, for the Chrome trace
    /// renderer (not part of the JSON report: it can be large).
    #[serde(skip)]
    pub trace: Vec<TraceSlice>,
    /// Host-dependent figures: the only part that differs between identical runs.
    pub host: HostInfo,
}

/// The estimate's range: the same firmware re-timed on the board's optimistic corner
/// (`low`: every latency assumption low, every capacity high) and pessimistic corner.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EstimateRange {
    /// The board's ranged values.
    pub assumptions: Vec<RangedValue>,
    /// Whole-run cycles at each corner; absent when the corners ran a different program
    /// path than the point estimate (`note` says how).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycles: Option<Bounds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<BoundsF>,
    /// Inference cycles at each corner (profiled runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_cycles: Option<Bounds>,
    /// Cycles of each operator row at each corner, in the order of `operators`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operators: Vec<Bounds>,
    /// Whether low ≤ cycles ≤ high held (an assumption can move cycles the other way
    /// than its kind says, e.g. a replacement anomaly in a larger buffer).
    pub contains_estimate: bool,
    /// Why part of the range is missing or how to read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One ranged board value (`[ranges]` in the board TOML).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RangedValue {
    pub path: String,
    pub value: u32,
    pub low: u32,
    pub high: u32,
    /// `latency` (higher is slower) or `capacity` (higher is faster).
    pub kind: String,
}

/// Cycles at the optimistic (`low`) and pessimistic (`high`) corner.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Bounds {
    pub low: u64,
    pub high: u64,
}

/// A modelled time at each corner.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct BoundsF {
    pub low: f64,
    pub high: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FirmwareInfo {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    pub entry: String,
    pub initial_sp: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BoardInfo {
    pub name: String,
    pub core: String,
    pub clock_mhz: f64,
    /// Zero-wait memory a generic board (`--core`) mapped for this image, beyond its own
    /// map: "NAME BASE–END (why)".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mapped_for_image: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TimingInfo {
    /// Which model produced the numbers.
    pub model: String,
    /// `fast` or `detailed` (`--timing`).
    pub mode: String,
    pub description: String,
    /// Instruction/data cache hits and misses (null where the board has no such cache).
    pub icache: Option<CacheCounters>,
    pub dcache: Option<CacheCounters>,
    /// Cortex-M7 BTAC in detailed timing: branches looked up and mispredicted.
    pub branch_predictor: Option<PredictorCounters>,
    /// SDIV/UDIV executions timed from their operands (detailed timing, M4/M33).
    pub divides_timed: u64,
    /// Fast timing: what it leaves out on this board (accelerators and caches counted as
    /// hits, static divide and branch prediction). Absent in detailed timing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fast_ignores: Vec<String>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CacheCounters {
    pub hits: u64,
    pub misses: u64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PredictorCounters {
    pub branches: u64,
    pub mispredicted: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    /// "exit", "fault" or "limit".
    pub kind: String,
    /// Firmware exit status (kind "exit").
    pub exit_status: Option<i64>,
    /// What went wrong and what to do (kinds "fault" and "limit").
    pub message: Option<String>,
    pub pc: Option<String>,
    pub symbol: Option<String>,
}

/// One setting the firmware changed through a vendor register.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ConfigEntry {
    pub register: String,
    /// What it set, with the preset's value.
    pub setting: String,
    /// Modelled cycle of the write.
    pub cycle: u64,
}

/// Exception activity of a run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ExceptionSummary {
    /// By exception number.
    pub taken: Vec<ExceptionCount>,
    /// Exceptions entered by tail-chaining (no unstacking and restacking in between).
    pub tail_chains: u64,
    /// Lazy FP context saves (a handler used the FPU while an FP context was active).
    pub lazy_fp_saves: u64,
}

/// How often one exception was taken.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ExceptionCount {
    pub number: u32,
    pub name: String,
    pub taken: u64,
}

/// The context of a fault or limit, for debugging firmware without a debugger.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ErrorInfo {
    /// Fault kind (`unmapped-access`, `undefined-instruction`, …) or `limit`.
    pub kind: String,
    pub pc: String,
    /// `symbol+0xoff` of the PC.
    pub symbol: String,
    /// The instruction at the PC, disassembled.
    pub instruction: String,
    /// Active calls, innermost first (from the profiler's shadow call stack; empty with
    /// `--profile off`).
    pub call_stack: Vec<String>,
    /// Start addresses (`0x… symbol+0xoff`) of the last blocks executed, oldest first.
    pub recent_blocks: Vec<String>,
    /// The fault status registers (CFSR, HFSR, MMFAR, BFAR) and the names of the CFSR and
    /// HFSR bits set, when the fault went through the exception model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fault_status: Vec<String>,
    /// Modelled cycles when it stopped.
    pub cycles: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RegionStats {
    pub name: String,
    pub kind: String,
    pub base: String,
    pub size: u64,
    /// Instructions fetched from this region.
    pub instructions_fetched: u64,
    pub fetch_wait_cycles: u64,
    /// Data reads/writes: counted where data accesses are hooked (regions with wait
    /// states, peripheral regions, or every region with `--count-accesses`); null elsewhere.
    pub data_reads: Option<u64>,
    pub data_writes: Option<u64>,
    pub data_wait_cycles: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Marker {
    pub port: u8,
    pub value: u32,
    pub cycles: u64,
    pub pc: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegisterAccess {
    pub address: String,
    pub reads: u64,
    pub writes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HostInfo {
    pub wall_seconds: f64,
    /// Simulated million instructions per host second.
    pub simulated_mips: f64,
    pub blocks_decoded: u64,
    /// Block entries unicorn ran without calling simbench's block hook (self-loop
    /// iterations, accounted at the next callback): how much of the run skipped it.
    #[serde(default)]
    pub block_entries_replayed: u64,
    /// Hooked loads and stores unicorn logged instead of calling simbench's data hook
    /// (timed at the next callback, in order).
    #[serde(default)]
    pub data_accesses_logged: u64,
    /// Of those, the accesses unicorn counted in the log entry of the access before them
    /// (same cache line or flash word, same kind) instead of logging them: hits that
    /// wait nothing, timed in bulk.
    #[serde(default)]
    pub data_accesses_folded: u64,
}

/// `0x` + 8 hex digits: addresses in reports.
pub fn hex32(v: u32) -> String {
    format!("{v:#010x}")
}
