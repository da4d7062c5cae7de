//! End-to-end check of the AOT bundle generator: generate each model in fixtures/models's bundle,
//! compile it with the host C compiler together with a tiny driver, run it, and compare
//! the int8 output with the TFLM reference outputs documented in fixtures/models/README.md
//! (produced by TFLM's 2020 reference kernels: equality must be bit-exact).

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/models")
}

/// The host C compiler, or `None` (the tests then skip with a message).
fn host_cc() -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    match Command::new(&cc).arg("--version").output() {
        Ok(o) if o.status.success() => Some(cc),
        _ => None,
    }
}

/// Generates the bundle of `model` into a fresh directory, builds it with a driver that
/// fills the input from a file (or leaves it zero), and returns the driver's path.
fn build(cc: &str, model: &str, tag: &str) -> (PathBuf, simbench_aot::Bundle) {
    let bytes = std::fs::read(models_dir().join(model)).expect("model in fixtures/models");
    let parsed = simbench_aot::tflite::parse(&bytes).expect("model parses");
    let name = simbench_aot::default_name(Path::new(model));
    let bundle = simbench_aot::generate(&parsed, &name, model).expect("bundle generates");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("aot_host_{name}_{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    simbench_aot::write_bundle(&bundle, &dir).expect("bundle written");
    let up = name.to_uppercase();
    let driver = format!(
        r#"#include <stdio.h>
#include <string.h>
#include "{name}.h"
static uint8_t mutable_area[{up}_MUTABLE_MEM_SIZE] __attribute__((aligned(64)));
static uint8_t activations_area[{up}_ACTIVATIONS_MEM_SIZE] __attribute__((aligned(64)));
int main(int argc, char **argv) {{
  if (argc > 1) {{
    FILE *f = fopen(argv[1], "rb");
    if (!f || fread(mutable_area + {up}_INPUT_OFFSET, 1, {up}_INPUT_SIZE, f) != {up}_INPUT_SIZE) return 90;
    fclose(f);
  }}
  /* Poison the scratch memory: a kernel reading a tensor before it is written shows. */
  memset(activations_area, 0x5a, sizeof activations_area);
  memset(mutable_area + {up}_OUTPUT_OFFSET, 0x5a, {up}_OUTPUT_SIZE);
  int rc = {name}((uint8_t *){name}_constant_weights, mutable_area, activations_area);
  fwrite(mutable_area + {up}_OUTPUT_OFFSET, 1, {up}_OUTPUT_SIZE, stdout);
  return rc;
}}
"#
    );
    std::fs::write(dir.join("driver.c"), driver).unwrap();
    let exe = dir.join("driver");
    let out = Command::new(cc)
        .current_dir(&dir)
        .args(["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .args(["driver.c", &format!("{name}.c"), &format!("{name}_weights.c")])
        .output()
        .expect("run cc");
    assert!(out.status.success(), "{cc} failed on the {name} bundle:\n{}", String::from_utf8_lossy(&out.stderr));
    (exe, bundle)
}

fn run(exe: &Path, input: Option<&Path>) -> Vec<u8> {
    let mut cmd = Command::new(exe);
    if let Some(i) = input {
        cmd.arg(i);
    }
    let out = cmd.output().expect("run driver");
    assert!(out.status.success(), "driver exited with {:?}", out.status);
    out.stdout
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

fn as_i8(b: &[u8]) -> Vec<i8> {
    b.iter().map(|&x| x as i8).collect()
}

/// Zero input -> the README's reference output (sha256, and its first int8 values).
fn check_zero_input(model: &str, out_len: usize, sha256: &str, first: &[i8]) {
    let Some(cc) = host_cc() else {
        eprintln!("SKIPPED: no host C compiler ('cc' or $CC) found; cannot build the {model} bundle");
        return;
    };
    let (exe, _) = build(&cc, model, "zero");
    let out = run(&exe, None);
    assert_eq!(out.len(), out_len, "{model}: output size");
    assert_eq!(&as_i8(&out)[..first.len()], first, "{model}: first outputs");
    assert_eq!(sha256_hex(&out), sha256, "{model}: output sha256 (full output {:?})", as_i8(&out));
}

#[test]
fn kws_zero_input_matches_tflm() {
    check_zero_input(
        "kws_ref_model.tflite",
        12,
        "576b7714a083e801a60c66aa1ce82585327ea235d8ab4239597cd205df57966e",
        &[-1, -128, -128, -128, -128, -1, -128, -128, -128, -128, -128, -127],
    );
}

#[test]
fn vww_zero_input_matches_tflm() {
    check_zero_input("vww_96_int8.tflite", 2, "e76edd95d460f49eb0ebff5b611eb65bf845aede6e197ce9f8ac393ba4c0c66c", &[116, -116]);
}

#[test]
fn resnet_zero_input_matches_tflm() {
    check_zero_input(
        "pretrainedResnet_quant.tflite",
        10,
        "f260004fac0aa09b1bf4861729aeea7bc09e5c465685e13a96f1ee035ee95416",
        &[-69, -128, 12, -125, -123, -124, -125, -128, -86, -128],
    );
}

#[test]
fn ad01_zero_input_matches_tflm() {
    check_zero_input(
        "ad01_int8.tflite",
        640,
        "5f55280fb4d4995a7087628054c7a4d302ca84f62d7739fff7312bd92f5597b7",
        &[-55, -6, 21, 42, 39, 41, 42, 56, 42, 44, 45, 43, 31, 31, 29, 35],
    );
}

#[test]
fn kws_sample0_matches_tflm() {
    let Some(cc) = host_cc() else {
        eprintln!("SKIPPED: no host C compiler ('cc' or $CC) found; cannot build the KWS bundle");
        return;
    };
    let (exe, _) = build(&cc, "kws_ref_model.tflite", "sample0");
    let sample = models_dir().join("samples/kws_mlcommons_sample0.bin");
    assert_eq!(std::fs::metadata(&sample).expect("sample").len(), 490);
    let out = run(&exe, Some(&sample));
    assert_eq!(as_i8(&out), vec![-128, -128, -128, -128, -128, 127, -128, -128, -128, -128, -128, -128]);
}

#[test]
fn bundles_are_deterministic_and_named_per_operator() {
    let bytes = std::fs::read(models_dir().join("pretrainedResnet_quant.tflite")).unwrap();
    let m = simbench_aot::tflite::parse(&bytes).unwrap();
    let a = simbench_aot::generate(&m, "resnet", "r.tflite").unwrap();
    let b = simbench_aot::generate(&simbench_aot::tflite::parse(&bytes).unwrap(), "resnet", "r.tflite").unwrap();
    assert_eq!(a.files, b.files);
    let c = String::from_utf8(a.files.iter().find(|(n, _)| n == "resnet.c").unwrap().1.clone()).unwrap();
    for f in ["libjit_conv2d_i8_0(", "libjit_add_i8_3(", "libjit_avg_pool_i8_12(", "libjit_fully_connected_i8_14(", "libjit_softmax_i8_15("] {
        assert!(c.contains(f), "resnet.c lacks {f}");
    }
    // The RESHAPE between two activations is an alias, not a copy.
    assert!(!c.contains("libjit_reshape_i8_13("));
    let h = String::from_utf8(a.files.iter().find(|(n, _)| n == "resnet.h").unwrap().1.clone()).unwrap();
    for mac in [
        "RESNET_CONSTANT_MEM_SIZE",
        "RESNET_MUTABLE_MEM_SIZE",
        "RESNET_ACTIVATIONS_MEM_SIZE",
        "RESNET_MEM_ALIGN 64",
        "RESNET_input_1_int8 ",
        "RESNET_Identity_int8 ",
        "RESNET_INPUT_OFFSET",
        "RESNET_OUTPUT_SIZE 10",
    ] {
        assert!(h.contains(mac), "resnet.h lacks {mac}");
    }
    assert!(h.contains("int resnet(uint8_t *constantWeight, uint8_t *mutableWeight, uint8_t *activations);"));
}

#[test]
fn cli_writes_a_bundle_and_rejects_bad_models_with_exit_3() {
    let exe = env!("CARGO_BIN_EXE_simbench");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("aot_cli");
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(exe).arg("aot").arg(models_dir().join("ad01_int8.tflite")).arg("-o").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for area in ["constant weights:", "mutable weights:", "activations:"] {
        assert!(stdout.contains(area), "summary lacks {area}: {stdout}");
    }
    for f in ["ad01_int8.h", "ad01_int8.c", "ad01_int8_weights.c", "ad01_int8.weights.bin", "libjit_int8.h"] {
        assert!(dir.join(f).exists(), "{f} not written");
    }
    let bad = dir.join("garbage.tflite");
    std::fs::write(&bad, b"this is not a flatbuffer at all").unwrap();
    let out = Command::new(exe).arg("aot").arg(&bad).arg("-o").arg(dir.join("x")).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TFL3"));
    let out = Command::new(exe).arg("aot").arg(dir.join("missing.tflite")).arg("-o").arg(dir.join("y")).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
}

/// A RESHAPE from the model input straight to the model output cannot alias (two
/// placeholders): the bundle copies, and the copy kernel must move every byte.
#[test]
fn reshape_copy_bundle_runs() {
    use simbench_aot::tflite::{Model, OpKind, Operator, Options, Quantization, Tensor, TensorType};
    let Some(cc) = host_cc() else {
        eprintln!("SKIPPED: no host C compiler ('cc' or $CC) found");
        return;
    };
    let t = |name: &str, shape: &[i32]| Tensor {
        name: name.into(),
        shape: shape.to_vec(),
        dtype: TensorType::Int8,
        buffer: 0,
        quantization: Some(Quantization { scale: vec![0.5], zero_point: vec![0], quantized_dimension: 0 }),
    };
    let m = Model {
        version: 3,
        description: String::new(),
        tensors: vec![t("in", &[1, 5]), t("out", &[5])],
        operators: vec![Operator { kind: OpKind::Reshape, version: 1, inputs: vec![Some(0)], outputs: vec![1], options: Options::Reshape { new_shape: None } }],
        inputs: vec![0],
        outputs: vec![1],
        buffers: vec![Vec::new()],
        subgraphs: vec![],
    };
    let bundle = simbench_aot::generate(&m, "copy5", "test").unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("aot_host_copy5");
    let _ = std::fs::remove_dir_all(&dir);
    simbench_aot::write_bundle(&bundle, &dir).unwrap();
    std::fs::write(
        dir.join("driver.c"),
        r#"#include <stdio.h>
#include "copy5.h"
static uint8_t mw[COPY5_MUTABLE_MEM_SIZE] __attribute__((aligned(64)));
int main(void) {
  for (int i = 0; i < COPY5_INPUT_SIZE; i++) mw[COPY5_INPUT_OFFSET + i] = (uint8_t)(0xF0 + i);
  int rc = copy5((uint8_t *)copy5_constant_weights, mw, NULL);
  fwrite(mw + COPY5_OUTPUT_OFFSET, 1, COPY5_OUTPUT_SIZE, stdout);
  return rc;
}
"#,
    )
    .unwrap();
    let exe = dir.join("driver");
    let out = Command::new(&cc)
        .current_dir(&dir)
        .args(["-std=c99", "-O2", "-Wall", "-o"])
        .arg(&exe)
        .args(["driver.c", "copy5.c", "copy5_weights.c"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(run(&exe, None), vec![0xF0, 0xF1, 0xF2, 0xF3, 0xF4]);
}

/// Built for Cortex-M7 and M33 at -O3 the bundles reference no outside symbol (no libc,
/// no libgcc helpers) and keep one local function symbol per operator kernel call.
#[test]
fn bundles_cross_compile_without_library_calls() {
    let gcc = "arm-none-eabi-gcc";
    if Command::new(gcc).arg("--version").output().map(|o| !o.status.success()).unwrap_or(true) {
        eprintln!("SKIPPED: {gcc} not found; cannot check the firmware build of the bundles");
        return;
    }
    for model in ["kws_ref_model.tflite", "pretrainedResnet_quant.tflite"] {
        let bytes = std::fs::read(models_dir().join(model)).unwrap();
        let m = simbench_aot::tflite::parse(&bytes).unwrap();
        let name = simbench_aot::default_name(Path::new(model));
        let bundle = simbench_aot::generate(&m, &name, model).unwrap();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("aot_arm_{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        simbench_aot::write_bundle(&bundle, &dir).unwrap();
        for cpu in [["-mcpu=cortex-m7", "-mfloat-abi=soft"], ["-mcpu=cortex-m33", "-mfloat-abi=soft"]] {
            let obj = dir.join("bundle.o");
            let out = Command::new(gcc)
                .current_dir(&dir)
                .args(["-mthumb", cpu[0], cpu[1], "-O3", "-std=c99", "-ffreestanding", "-Wall", "-Wextra", "-Werror", "-c", "-o"])
                .arg(&obj)
                .arg(format!("{name}.c"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let nm = Command::new("arm-none-eabi-nm").arg(&obj).output().expect("arm-none-eabi-nm");
            let syms = String::from_utf8_lossy(&nm.stdout).into_owned();
            let undefined: Vec<&str> = syms.lines().filter(|l| l.trim_start().starts_with("U ")).collect();
            assert!(undefined.is_empty(), "{model} {}: undefined symbols {undefined:?}", cpu[0]);
            let calls = bundle.steps.iter().zip(&bundle.plan.elided).filter(|(_, &e)| !e);
            for (s, _) in calls {
                let f = s.function_name();
                assert!(syms.lines().any(|l| l.ends_with(&format!(" t {f}"))), "{model}: no symbol {f}");
            }
        }
    }
}
