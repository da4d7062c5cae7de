//! Inputs found by the fuzzers under fuzz/ (see fuzz/README.md) that once panicked. Each is
//! fed through the same public API as its fuzz target and must now give a clean error.
//! The files under tests/fuzz_regressions/ are the libFuzzer crash artifacts, unchanged.

use simbench_aot::tflite::{self, Quantization, Tensor, TensorType};
use simbench_sim::image::Image;
use simbench_sim::SimError;
use std::path::PathBuf;

fn input(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// tflite_model target: an ADD operator whose builtin-options union type is NONE (0) while
/// an options offset is present. The verifier only checks option tables of the known
/// types, so the reader followed an unverified offset and indexed past the buffer end.
#[test]
fn tflite_options_offset_with_unexpected_union_type_is_an_error() {
    let err = tflite::parse(&input("tflite_options_type_mismatch.tflite")).unwrap_err();
    assert!(matches!(err, tflite::Error::Invalid(_)), "{err:?}");
    assert_eq!(err.to_string(), "invalid TFLite model: operator 0 (ADD) carries builtin options of type 0, expected 11");
}

/// tflite_model target: a tensor of shape [1515869510, 1146047839, 1885293637, 1935830898]
/// made `Tensor::elements` overflow usize (a panic with overflow checks, a wrong size
/// without).
#[test]
fn tflite_tensor_too_large_for_the_address_space_is_an_error() {
    let err = tflite::parse(&input("tflite_shape_overflow.tflite")).unwrap_err();
    assert!(matches!(err, tflite::Error::Invalid(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("tensor 4 has shape [1515869510, 1146047839, 1885293637, 1935830898]"), "{msg}");
    assert!(msg.contains("does not fit in 4 GiB"), "{msg}");
}

/// tflite_model target, AOT generator: an AVERAGE_POOL_2D with stride_h 2147483646 on a
/// 4-row input overflowed the i32 window arithmetic of `quant::out_size` (fixed in
/// runtime/aot by computing window sizes in 64 bits).
#[test]
fn aot_pool_with_huge_stride_is_an_error() {
    let model = tflite::parse(&input("aot_pool_stride_overflow.tflite")).expect("the model itself is valid");
    let err = simbench_aot::generate(&model, "fuzz_model", "fuzz.tflite").unwrap_err();
    assert!(matches!(err, simbench_aot::AotError::Unsupported(_)), "{err:?}");
    assert_eq!(err.to_string(), "cannot compile this model: operator 2 (AVERAGE_POOL_2D): output size 2 along axis 0, but Valid padding gives 1");
}

/// The shape of tflite_shape_overflow.tflite on a hand-built tensor (no `parse` check):
/// sizes saturate, never panic.
#[test]
fn tensor_sizes_saturate_instead_of_overflowing() {
    let t = Tensor {
        name: "huge".into(),
        shape: vec![1515869510, 1146047839, 1885293637, 1935830898],
        dtype: TensorType::Int32,
        buffer: 0,
        quantization: Some(Quantization { scale: vec![1.0], zero_point: vec![0], quantized_dimension: 0 }),
    };
    assert_eq!(t.elements(), usize::MAX);
    assert_eq!(t.bytes(), None);
}

/// elf_image target: a PT_LOAD at p_paddr 0xffffff00 whose memory size (0x298) runs past
/// 4 GiB; only its file size was checked, so a section's load address `paddr + offset`
/// overflowed u32.
#[test]
fn elf_segment_whose_memory_size_passes_4_gib_is_an_error() {
    let err = Image::parse(&input("elf_segment_memsz_past_4g.elf")).unwrap_err();
    assert!(matches!(err, SimError::BadElf(_)), "{err:?}");
    assert!(err.to_string().contains("segment at 0xffffff00 size 0x298 does not fit the 32-bit address space"), "{err}");
}

/// Found by reading `Board::validate` while fuzzing board TOML: `ways * line_bytes` was
/// computed in u32, which overflowed for ways = 2^24 and 256-byte lines (a panic with
/// overflow checks, a division by zero without).
#[test]
fn board_cache_with_absurd_ways_is_an_error() {
    let text = String::from_utf8(input("board_cache_ways_overflow.toml")).unwrap();
    let err = simbench_cores::Board::from_toml(&text).unwrap_err();
    assert!(err.starts_with("[icache]: size_bytes must be ways × line_bytes"), "{err}");
}
