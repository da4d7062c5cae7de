//! The function flags operator attribution needs, and which calls they make it record.

/// Function flags the operator attribution needs (`operators::role_of` sets them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FuncRole {
    /// TFLM's `tflite::MicroInterpreter::Invoke()`: one inference, tail calls followed.
    pub interpreter_invoke: bool,
    /// A TFLM operator loop (`Invoke()` of 2020, `MicroGraph::InvokeSubgraph(int)`,
    /// `MicroInterpreterGraph::InvokeSubgraph(int)`): its indirect calls dispatch operators.
    pub op_loop: bool,
    /// A kernel an AOT bundle's entry calls (`libjit_*`).
    pub kernel: bool,
    /// A Glow `-instrument-ir` callback (`libjit_instrument_*`, `glow_instrument_*`).
    pub instrument: Option<Instrument>,
    /// A C++ function whose parameters are not a kernel's `(TfLiteContext*, TfLiteNode*)`:
    /// an operator loop's indirect call to it is a virtual method (an allocator's, a
    /// profiler's), not an operator.
    pub not_an_operator: bool,
}

/// Which instrumentation callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instrument {
    Before,
    After,
}

impl FuncRole {
    /// A call from a function with role `self` to one with role `callee` is kept for
    /// operator attribution: an operator loop's dispatch, or a call into a kernel or an
    /// instrumentation callback from outside the kernels.
    pub fn records(&self, callee: &FuncRole, indirect: bool) -> bool {
        (self.op_loop && indirect && !callee.op_loop && !callee.not_an_operator) || (callee.is_bundle_call() && !self.is_bundle_call())
    }

    /// A kernel or an instrumentation callback: what a bundle's entry calls.
    pub fn is_bundle_call(&self) -> bool {
        self.kernel || self.instrument.is_some()
    }
}
