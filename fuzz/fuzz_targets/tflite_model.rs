//! TFLite reader: `tflite::parse` on arbitrary bytes; on success every accessor on every
//! tensor and operator, then the AOT generator (lowering, memory plan and C emission, all in
//! memory) on the parsed model.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simbench_profiles::tflite;

/// `SIMBENCH_FUZZ_VERBOSE=1` prints what each input got to (for checking seeds).
fn verbose() -> bool {
    static V: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *V.get_or_init(|| std::env::var_os("SIMBENCH_FUZZ_VERBOSE").is_some())
}

fuzz_target!(|data: &[u8]| {
    let model = match tflite::parse(data) {
        Ok(m) => m,
        Err(e) => {
            if verbose() {
                eprintln!("parse: {e}");
            }
            return;
        }
    };
    for (i, t) in model.tensors.iter().enumerate() {
        let _ = (t.elements(), t.bytes(), t.scale_zp(), t.dtype.name(), t.dtype.size());
        let _ = model.tensor_data(i);
    }
    let _ = model.tensor_data(model.tensors.len());
    for op in &model.operators {
        let _ = (op.kind.name(), op.version);
        for i in op.inputs.iter().flatten().chain(op.outputs.iter()) {
            assert!(*i < model.tensors.len(), "parse returned an operator tensor index out of range");
            let _ = model.tensor_data(*i);
        }
    }
    if verbose() {
        for (n, op) in model.operators.iter().enumerate() {
            let shapes: Vec<_> = op.inputs.iter().copied().chain(op.outputs.iter().copied().map(Some)).map(|t| t.map(|t| &model.tensors[t].shape)).collect();
            eprintln!("op {n}: {:?} tensors {shapes:?}", op.options);
        }
    }
    let generated = simbench_aot::generate(&model, "fuzz_model", "fuzz.tflite");
    if verbose() {
        match generated {
            Ok(b) => eprintln!("parsed {} operators; bundle of {} files", model.operators.len(), b.files.len()),
            Err(e) => eprintln!("parsed {} operators; generate: {e}", model.operators.len()),
        }
    }
});
