//! simbench-aot: an ahead-of-time (Glow-style) bundle generator for int8 TFLite models.
//!
//! `generate` turns a parsed model into C source with all memory planned statically and
//! every kernel argument a compile-time constant; `run` is the `simbench aot` command.
//! See README.md in this crate for the bundle format.

pub mod emit;
pub mod lower;
pub mod plan;
pub mod quant;

pub use simbench_profiles::tflite;
use simbench_profiles::tflite::Model;
use std::fmt;
use std::path::Path;

/// Why a bundle could not be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AotError {
    /// Wrong use (an empty bundle name).
    Usage(String),
    /// The model file cannot be read or is not a valid TFLite model.
    BadModel(String),
    /// A valid model using something the generator does not support.
    Unsupported(String),
    /// The bundle cannot be written.
    Io(String),
}

impl AotError {
    /// True for command-line misuse (exit code 2); everything else is bad input (3).
    pub fn is_usage(&self) -> bool {
        matches!(self, AotError::Usage(_))
    }
}

impl fmt::Display for AotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AotError::Usage(m) | AotError::BadModel(m) | AotError::Io(m) => write!(f, "{m}"),
            AotError::Unsupported(m) => write!(f, "cannot compile this model: {m}"),
        }
    }
}

impl std::error::Error for AotError {}

impl From<tflite::Error> for AotError {
    fn from(e: tflite::Error) -> Self {
        match e {
            tflite::Error::Unsupported(m) => AotError::Unsupported(m),
            other => AotError::BadModel(other.to_string()),
        }
    }
}

/// A generated bundle: its files (name, bytes) in a fixed order, and how it was planned.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub name: String,
    pub files: Vec<(String, Vec<u8>)>,
    pub plan: plan::Plan,
    pub steps: Vec<lower::Step>,
}

/// The bundle name from a model path: the file stem as a C identifier.
pub fn default_name(model_path: &Path) -> String {
    emit::c_ident(&model_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into()))
}

/// Generates the bundle `name` (a C identifier) for `model`; `source` names the model in
/// the generated comments (e.g. its file name).
pub fn generate(model: &Model, name: &str, source: &str) -> Result<Bundle, AotError> {
    if name.is_empty() || emit::c_ident(name) != name {
        return Err(AotError::Usage(format!("bundle name '{name}' is not a C identifier")));
    }
    if model.operators.is_empty() {
        return Err(AotError::Unsupported("the model has no operators".into()));
    }
    check_indices(model)?;
    let steps = lower::lower(model)?;
    let plan = plan::plan(model, &steps)?;
    let source = source.replace(['\n', '\r'], " ");
    let files = vec![
        (format!("{name}.h"), emit::header(model, &plan, name, &source).into_bytes()),
        (format!("{name}.c"), emit::source(model, &plan, &steps, name, &source).into_bytes()),
        (format!("{name}_weights.c"), emit::weights_source(&plan, name, &source).into_bytes()),
        (format!("{name}.weights.bin"), plan.constants.clone()),
        (emit::KERNELS_FILE.to_string(), emit::KERNELS_H.as_bytes().to_vec()),
    ];
    Ok(Bundle { name: name.to_string(), files, plan, steps })
}

/// Tensor and buffer indices in range: `parse` guarantees it, a hand-built `Model` may not.
fn check_indices(model: &Model) -> Result<(), AotError> {
    let n = model.tensors.len();
    let op_tensors = model.operators.iter().flat_map(|o| o.inputs.iter().flatten().chain(o.outputs.iter()));
    if let Some(t) = op_tensors.chain(model.inputs.iter()).chain(model.outputs.iter()).find(|&&t| t >= n) {
        return Err(AotError::BadModel(format!("tensor index {t} out of range ({n} tensors)")));
    }
    if let Some(t) = model.tensors.iter().find(|t| t.buffer >= model.buffers.len() && t.buffer != 0) {
        return Err(AotError::BadModel(format!("tensor '{}' uses buffer {} of {}", t.name, t.buffer, model.buffers.len())));
    }
    Ok(())
}

/// Writes the bundle's files into `dir` (created if missing).
pub fn write_bundle(bundle: &Bundle, dir: &Path) -> Result<(), AotError> {
    std::fs::create_dir_all(dir).map_err(|e| AotError::Io(format!("cannot create output directory '{}': {e}", dir.display())))?;
    for (file, bytes) in &bundle.files {
        let path = dir.join(file);
        std::fs::write(&path, bytes).map_err(|e| AotError::Io(format!("cannot write '{}': {e}", path.display())))?;
    }
    Ok(())
}

/// `simbench aot MODEL -o DIR [--name NAME]`: reads, generates and writes the bundle;
/// returns the summary to print (one line per memory area).
pub fn run(model_path: &Path, out_dir: &Path, name: Option<&str>) -> Result<String, AotError> {
    let bytes = std::fs::read(model_path).map_err(|e| AotError::BadModel(format!("cannot read model '{}': {e}", model_path.display())))?;
    let with_path = |e: AotError| match e {
        AotError::BadModel(m) => AotError::BadModel(format!("{}: {m}", model_path.display())),
        AotError::Unsupported(m) => AotError::Unsupported(format!("{}: {m}", model_path.display())),
        other => other,
    };
    let model = tflite::parse(&bytes).map_err(|e| with_path(AotError::from(e)))?;
    let name = match name {
        Some(n) => {
            let c = emit::c_ident(n.trim());
            if n.trim().is_empty() {
                return Err(AotError::Usage("--name must not be empty".into()));
            }
            c
        }
        None => default_name(model_path),
    };
    let source = model_path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let bundle = generate(&model, &name, &source).map_err(with_path)?;
    write_bundle(&bundle, out_dir)?;
    let p = &bundle.plan;
    let ops = bundle.steps.len() - p.elided.iter().filter(|&&e| e).count();
    Ok(format!(
        "bundle {name}: {} operators ({ops} kernel functions) -> {}\nconstant weights: {} bytes\nmutable weights: {} bytes\nactivations: {} bytes\n",
        bundle.steps.len(),
        out_dir.display(),
        p.constant_size,
        p.mutable_size,
        p.activations_size
    ))
}

#[cfg(test)]
mod tests;
