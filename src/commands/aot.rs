//! `simbench aot`: compile an int8 TFLite model into a Glow-style C bundle (crate `aot`).

use crate::exit;
use simbench_sim::SimError;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct AotArgs {
    /// The .tflite model.
    model: PathBuf,
    /// Output directory for the bundle files.
    #[arg(short, long)]
    output: PathBuf,
    /// Bundle name (a C identifier; default: the model's file stem).
    #[arg(long)]
    name: Option<String>,
}

pub fn run(args: &AotArgs) -> Result<i32, SimError> {
    let summary = simbench_aot::run(&args.model, &args.output, args.name.as_deref()).map_err(|e| {
        if e.is_usage() {
            SimError::Usage(e.to_string())
        } else {
            SimError::Io(format!("aot: {e}"))
        }
    })?;
    print!("{summary}");
    Ok(exit::OK)
}
