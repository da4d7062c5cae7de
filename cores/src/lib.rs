//! simbench-cores: timing models of Cortex-M cores and boards, free of any emulator.
//!
//! The simulator decodes each translation block once (`decode`), asks a core model
//! (`timing`) for the block's static cost and, as execution proceeds, for branch
//! penalties; `board` describes the memory map and its wait states.

pub mod board;
pub mod decode;
pub mod insn;
pub mod memsys;
pub mod ranges;
pub mod timing;

pub use board::{Board, Region, RegionKind};
pub use decode::Decoder;
pub use insn::{Class, Insn};
pub use memsys::{fast_mode_ignores, Fidelity, MemorySystem};
pub use timing::{BlockEdges, BlockTiming, Boundary, BranchHints, BranchPredictor, CoreKind, CoreModel, Lookup, LoopBranch, Prediction};
