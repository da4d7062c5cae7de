//! Profile data carried by the report: functions, the call tree, operators, memory.
//!
//! The simulator fills these (`sim/src/profile/callstack/` and `sim/src/memtruth.rs`); the
//! renderers (`render.rs`, `export.rs`), `simbench compare` and `simbench check` read
//! them. Plain data, serialised into the versioned JSON report (docs/report-schema.md).

use serde::{Deserialize, Serialize};

/// One function: a symbol, or an address range for code without symbols (`name` is then
/// `0x` + 8 hex digits, the address calls entered it at).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FunctionStat {
    /// Demangled name.
    pub name: String,
    /// Entry address (`0x` + 8 hex digits).
    pub address: String,
    pub calls: u64,
    /// Cycles from entry to return, summed over calls (recursion counted once: a frame
    /// of a function already on the stack adds nothing to its inclusive total).
    pub inclusive_cycles: u64,
    /// Cycles spent in the function's own code.
    pub exclusive_cycles: u64,
    /// Instructions executed in the function's own code.
    pub instructions: u64,
}

/// Calls from one function to another.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CallEdge {
    pub caller: String,
    pub callee: String,
    pub calls: u64,
    /// Inclusive cycles of the callee over these calls.
    pub cycles: u64,
}

/// A node of the call tree (a distinct call path), for folded stacks and flame graphs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StackSample {
    /// Function names from the root to this node.
    pub stack: Vec<String>,
    /// Cycles spent in this node's own code.
    pub exclusive_cycles: u64,
}

/// One executed operator of an inference.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OperatorRow {
    /// Position in the model's operator list (0-based).
    pub index: u32,
    /// Builtin operator name (`CONV_2D`), or the kernel symbol for AOT bundles.
    pub op: String,
    /// Kernel function that ran it (symbol), when known.
    pub kernel: Option<String>,
    pub cycles: u64,
    /// Share of the inference's cycles (0–1).
    pub share: f64,
    /// Multiply-accumulates computed from the shapes, when known.
    pub macs: Option<u64>,
    pub cycles_per_mac: Option<f64>,
    /// Latency at the board clock, microseconds.
    pub latency_us: f64,
    /// Modelled cycle at which it started.
    pub start_cycle: u64,
    /// Input and output tensor shapes, when known.
    pub inputs: Vec<Vec<i32>>,
    pub outputs: Vec<Vec<i32>>,
    /// Which inference (0-based) when the firmware runs several.
    pub invocation: u32,
    /// Where the operator's cycles went, by call path, most cycles first (TFLM and AOT
    /// profiles; empty for markers and for operators without cycles).
    #[serde(default)]
    pub kernels: Vec<KernelTime>,
    /// Glow `-instrument-ir` bundles: the instruction's id and kind, as the
    /// instrumentation callbacks received them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrument: Option<InstrumentIds>,
}

/// Cycles of one call path within an operator: the kernel breakdown.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct KernelTime {
    /// The function that spent them (the last element of `path`).
    pub function: String,
    /// Call path from the function that dispatched the operator (the TFLM operator loop
    /// or the bundle entry, whose own code has the one-element path) to `function`.
    pub path: Vec<String>,
    /// Exclusive cycles of `function` on this path within the operator.
    pub cycles: u64,
    /// Calls that entered this path within the operator.
    pub calls: u64,
}

/// An `-instrument-ir` instruction's identity (`glow_instrument_before(id, kind, …)`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct InstrumentIds {
    pub id: u32,
    /// Glow's instruction kind number (its meaning depends on the Glow version:
    /// `instrument-ir.info` names it).
    pub kind: u32,
}

/// How operators were found and what the inference cost as a whole.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OperatorSummary {
    /// `tflm`, `aot`, `markers`, or `functions` (no operators).
    pub source: String,
    /// Cycles of the inference(s): Invoke() for TFLM, the bundle entry for AOT, first
    /// begin to last end for markers.
    pub inference_cycles: u64,
    /// Sum of the operator rows.
    pub operator_cycles: u64,
    /// `inference_cycles - operator_cycles - instrumentation_cycles`: interpreter or glue
    /// overhead.
    pub overhead_cycles: u64,
    pub inferences: u32,
    /// Glow `-instrument-ir` bundles: cycles of the instrumentation callbacks, counted in
    /// neither the operators nor the overhead (absent for other profiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrumentation_cycles: Option<u64>,
    /// Notes on what could not be attributed (inlined kernels, count mismatches…).
    pub notes: Vec<String>,
}

/// One ELF section that occupies memory.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SectionUse {
    pub name: String,
    pub address: String,
    pub bytes: u64,
    /// Board region it lives in at run time (VMA).
    pub region: String,
    /// `flash` (read-only image), `ram` (initialised or zeroed data), `both` (RAM copy of
    /// flash-stored data: counted in both).
    pub kind: String,
}

/// A buffer whose use was measured by painting it before `main` and checking it after.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BufferUse {
    /// Symbol or `ADDR:SIZE` it was located by.
    pub name: String,
    pub address: String,
    pub size: u64,
    /// Bytes in use: the buffer minus its largest untouched gap (TFLM fills the arena from
    /// both ends).
    pub used_bytes: u64,
}

/// Flash and RAM truth.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MemoryUse {
    pub sections: Vec<SectionUse>,
    pub flash_bytes: u64,
    pub ram_bytes: u64,
    /// Deepest stack use below the initial SP, bytes (stack painted at `main`).
    pub stack_peak_bytes: Option<u64>,
    pub heap_used_bytes: Option<u64>,
    /// Tensor arena / activations buffer.
    pub arena: Option<BufferUse>,
}

/// A slice on the modelled time axis (for Chrome trace / Perfetto).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TraceSlice {
    pub name: String,
    /// `operator` or `function`.
    pub category: String,
    pub start_cycle: u64,
    pub cycles: u64,
    /// Call depth (0 = outermost).
    pub depth: u32,
}
