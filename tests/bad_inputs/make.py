#!/usr/bin/env python3
"""Generate the malformed-input corpus in this directory (deterministic; no arguments).

Run from anywhere:  python3 tests/bad_inputs/make.py

Sources (read only):
  fixtures/micro/exit3_m4.elf           a good Cortex-M4 ELF (one PT_LOAD at file offset
                                        0x1000, paddr 0, filesz 0x298, vector table at 0x1000)
  fixtures/models/kws_ref_model.tflite the MLPerf Tiny KWS int8 model

Every ELF case is that fixture with bytes truncated or patched at the offsets below
(ELF32 header and program header layout from the System V ABI / ELF specification):

  Elf32_Ehdr: e_ident[16] @0 (EI_CLASS @4, EI_DATA @5), e_type @16 (u16),
              e_machine @18 (u16), e_version @20, e_entry @24, e_phoff @28, e_shoff @32,
              e_flags @36, e_ehsize @40 (u16), e_phentsize @42, e_phnum @44,
              e_shentsize @46, e_shnum @48, e_shstrndx @50 (all u16)
  Elf32_Phdr: p_type @0, p_offset @4, p_vaddr @8, p_paddr @12, p_filesz @16,
              p_memsz @20, p_flags @24, p_align @28 (all u32)

TFLite cases patch the FlatBuffer of the KWS model at offsets found by walking its tables
(schema.fbs field ids noted below). The board TOML and text cases are written verbatim.
The expected outcome of every file is in cases.json; tests/bad_inputs.rs runs them.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
ELF_SRC = os.path.join(ROOT, "fixtures", "micro", "exit3_m4.elf")
MODEL_SRC = os.path.normpath(os.path.join(ROOT, "fixtures", "models", "kws_ref_model.tflite"))


def write(name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def u16(b, off, v):
    b[off:off + 2] = struct.pack("<H", v)


def u32(b, off, v):
    b[off:off + 4] = struct.pack("<I", v)


def r32(b, off):
    return struct.unpack_from("<I", b, off)[0]


# ---------------------------------------------------------------- ELF
ELF = open(ELF_SRC, "rb").read()
E_TYPE, E_MACHINE, E_ENTRY, E_PHOFF = 16, 18, 24, 28
E_PHENTSIZE, E_PHNUM, E_SHNUM, E_SHSTRNDX = 42, 44, 48, 50
PHOFF = r32(ELF, E_PHOFF)            # 52: first (only) program header
P_TYPE, P_OFFSET, P_PADDR, P_FILESZ = 0, 4, 12, 16
SEG_OFF = r32(ELF, PHOFF + P_OFFSET)  # 0x1000
SEG_SIZE = r32(ELF, PHOFF + P_FILESZ)  # 0x298
assert ELF[:4] == b"\x7fELF" and PHOFF == 52 and struct.unpack_from("<H", ELF, E_PHNUM)[0] == 1
assert SEG_OFF == 0x1000 and SEG_SIZE == 0x298


def elf(name, patch=None, cut=None):
    b = bytearray(ELF)
    if patch:
        patch(b)
    if cut is not None:
        b = b[:cut]
    write(name, bytes(b))


write("elf_empty.elf", b"")
write("elf_3_bytes.elf", b"\x7fEL")
write("elf_text.elf", "This is a text file, not firmware.\nPass the linker's .elf output.\n")
write("elf_magic_only.elf", b"\x7fELF")
elf("elf_trunc_52.elf", cut=52)                     # header only, program header cut off
elf("elf_trunc_100.elf", cut=100)                   # program header complete, no contents
elf("elf_trunc_1000.elf", cut=1000)                 # before the segment at 0x1000
elf("elf_trunc_mid_segment.elf", cut=SEG_OFF + 0x100)  # half of .text, no section headers
elf("elf_class64.elf", lambda b: b.__setitem__(4, 2))   # EI_CLASS = ELFCLASS64
elf("elf_big_endian.elf", lambda b: b.__setitem__(5, 2))  # EI_DATA = ELFDATA2MSB
elf("elf_machine_x86.elf", lambda b: u16(b, E_MACHINE, 3))    # EM_386
elf("elf_machine_riscv.elf", lambda b: u16(b, E_MACHINE, 243))  # EM_RISCV
elf("elf_type_rel.elf", lambda b: u16(b, E_TYPE, 1))           # ET_REL
elf("elf_phoff_beyond_file.elf", lambda b: u32(b, E_PHOFF, 0x0010_0000))
elf("elf_phnum_huge.elf", lambda b: u16(b, E_PHNUM, 0xFFFF))
elf("elf_phentsize_zero.elf", lambda b: u16(b, E_PHENTSIZE, 0))
elf("elf_filesz_beyond_file.elf", lambda b: u32(b, PHOFF + P_FILESZ, 0x0010_0000))
elf("elf_paddr_wraps_4g.elf", lambda b: u32(b, PHOFF + P_PADDR, 0xFFFF_FF00))
elf("elf_paddr_outside_board.elf", lambda b: u32(b, PHOFF + P_PADDR, 0x9000_0000))
elf("elf_no_pt_load.elf", lambda b: u32(b, PHOFF + P_TYPE, 4))  # PT_NOTE
elf("elf_shnum_absurd.elf", lambda b: u16(b, E_SHNUM, 0xFFFF))
elf("elf_shstrndx_out_of_range.elf", lambda b: u16(b, E_SHSTRNDX, 0x7FFF))


def overlapping(b):
    # Second PT_LOAD right after the first (bytes 84..116 are padding zeros in the
    # fixture) covering [0x100, 0x298) again with the same file bytes (p_offset 0x1100):
    # the two segments overlap but agree on every byte, so the image is unchanged.
    assert b[84:116] == bytes(32)
    b[84:116] = b[52:84]
    u32(b, 84 + P_OFFSET, SEG_OFF + 0x100)
    u32(b, 84 + 8, 0x100)  # p_vaddr
    u32(b, 84 + P_PADDR, 0x100)
    u32(b, 84 + P_FILESZ, SEG_SIZE - 0x100)
    u32(b, 84 + 20, SEG_SIZE - 0x100)  # p_memsz
    u16(b, E_PHNUM, 2)


elf("elf_overlapping_segments.elf", overlapping)


def overlapping_conflict(b):
    # As above, but the second segment's bytes start 4 bytes later in the file, so the
    # two segments load different bytes at the same addresses.
    overlapping(b)
    u32(b, 84 + P_OFFSET, SEG_OFF + 0x104)
    u32(b, 84 + P_FILESZ, SEG_SIZE - 0x104)
    u32(b, 84 + 20, SEG_SIZE - 0x104)  # p_memsz


elf("elf_overlapping_segments_conflict.elf", overlapping_conflict)


def entry_outside(b):
    # Vector table word 1 (reset handler, file offset 0x1004) zeroed so no vector table
    # is valid; e_entry moved to 0x90000001, outside the generic-m4 memory map.
    u32(b, SEG_OFF + 4, 0)
    u32(b, E_ENTRY, 0x9000_0001)


elf("elf_entry_outside_no_vectors.elf", entry_outside)

# ---------------------------------------------------------------- board TOML
GOOD_HEAD = 'name = "bad"\ncore = "m4"\nclock_mhz = 100.0\n'
CODE = '[[regions]]\nname = "code"\nbase = 0x00000000\nsize = 0x00400000\nkind = "code"\n'
SRAM = '[[regions]]\nname = "sram"\nbase = 0x20000000\nsize = 0x00400000\nkind = "sram"\n'


def region(name, base, size, kind, extra=""):
    return f'[[regions]]\nname = "{name}"\nbase = {base:#010x}\nsize = {size:#x}\nkind = "{kind}"\n{extra}'


write("board_not_toml.toml", "this is = not [ toml\n{{{\n")
write("board_empty.toml", "")
write("board_missing_core.toml", 'name = "bad"\nclock_mhz = 100.0\n' + CODE + SRAM)
write("board_unknown_core.toml", 'name = "bad"\ncore = "m99"\nclock_mhz = 100.0\n' + CODE + SRAM)
write("board_zero_clock.toml", 'name = "bad"\ncore = "m4"\nclock_mhz = 0.0\n' + CODE + SRAM)
write("board_no_regions.toml", GOOD_HEAD + "regions = []\n")
write("board_zero_size_region.toml", GOOD_HEAD + CODE + region("sram", 0x2000_0000, 0, "sram"))
write("board_overlapping_regions.toml", GOOD_HEAD + CODE + region("sram", 0x0020_0000, 0x0040_0000, "sram"))
write("board_region_in_ppb.toml", GOOD_HEAD + CODE + SRAM + region("ppb", 0xE000_0000, 0x1000, "sram"))
write("board_region_not_page_aligned.toml", GOOD_HEAD + CODE + region("sram", 0x2000_0100, 0x0040_0000, "sram"))
write("board_absurd_wait_states.toml", GOOD_HEAD + region("code", 0, 0x0040_0000, "code", "read_wait = 1000000\n") + SRAM)
write("board_cache_line_not_pow2.toml",
      'name = "bad"\ncore = "m7"\nclock_mhz = 100.0\n' + CODE + SRAM
      + "[icache]\nsize_bytes = 16384\nways = 2\nline_bytes = 48\n")
write("board_unknown_field.toml", GOOD_HEAD + "flash_wait = 3\n" + CODE + SRAM)
write("board_region_too_large.toml", GOOD_HEAD + CODE + region("sram", 0x2000_0000, 0x8000_0000, "sram"))

# ---------------------------------------------------------------- TFLite
MODEL = open(MODEL_SRC, "rb").read()
assert MODEL[4:8] == b"TFL3"


def table(buf, pos):
    """(table position, vtable position) of the table at pos."""
    vt = pos - struct.unpack_from("<i", buf, pos)[0]
    return pos, vt


def field_pos(buf, tbl, fid):
    pos, vt = tbl
    vtsize = struct.unpack_from("<H", buf, vt)[0]
    if 4 + 2 * fid >= vtsize:
        return None
    off = struct.unpack_from("<H", buf, vt + 4 + 2 * fid)[0]
    return pos + off if off else None


def deref(buf, p):
    return p + r32(buf, p)


def vector(buf, tbl, fid):
    """(position of the length word, length) of a vector field."""
    p = deref(buf, field_pos(buf, tbl, fid))
    return p, r32(buf, p)


ROOT_T = table(MODEL, r32(MODEL, 0))
# Model: 0 version, 1 operator_codes, 2 subgraphs, 3 description, 4 buffers
OPCODES_LEN_AT, N_OPCODES = vector(MODEL, ROOT_T, 1)
SUBGRAPHS_LEN_AT, _ = vector(MODEL, ROOT_T, 2)
BUFFERS_LEN_AT, N_BUFFERS = vector(MODEL, ROOT_T, 4)
SG = table(MODEL, deref(MODEL, SUBGRAPHS_LEN_AT + 4))
# SubGraph: 0 tensors, 1 inputs, 2 outputs, 3 operators
TENSORS_LEN_AT, _ = vector(MODEL, SG, 0)
TENSOR0 = table(MODEL, deref(MODEL, TENSORS_LEN_AT + 4))
OPS_LEN_AT, _ = vector(MODEL, SG, 3)
OPS = [table(MODEL, deref(MODEL, OPS_LEN_AT + 4 + 4 * i)) for i in range(r32(MODEL, OPS_LEN_AT))]
# The first operator whose opcode_index (Operator field 0) is stored (non-default).
OP_WITH_INDEX = next(t for t in OPS if field_pos(MODEL, t, 0) is not None)


def model(name, patch=None, cut=None):
    b = bytearray(MODEL)
    if patch:
        patch(b)
    if cut is not None:
        b = b[:cut]
    write(name, bytes(b))


write("tflite_empty.tflite", b"")
write("tflite_text.tflite", "not a model\n")
model("tflite_wrong_identifier.tflite", lambda b: b.__setitem__(slice(4, 8), b"TFL9"))
model("tflite_trunc_100.tflite", cut=100)
model("tflite_root_offset_out_of_range.tflite", lambda b: u32(b, 0, 0x7FFF_FFF0))
# The buffers vector claims 0x10000000 entries.
model("tflite_vector_length_corrupt.tflite", lambda b: u32(b, BUFFERS_LEN_AT, 0x1000_0000))
# Model.version (field 0, int32) = 4.
model("tflite_schema_version_4.tflite", lambda b: u32(b, field_pos(MODEL, ROOT_T, 0), 4))


def unsupported_op(b):
    # Every OperatorCode becomes DEQUANTIZE (6): deprecated_builtin_code (field 0, byte)
    # and builtin_code (field 3, int32) where present.
    for i in range(N_OPCODES):
        oc = table(MODEL, deref(MODEL, OPCODES_LEN_AT + 4 + 4 * i))
        p0 = field_pos(MODEL, oc, 0)
        if p0 is not None:
            b[p0] = 6
        p3 = field_pos(MODEL, oc, 3)
        if p3 is not None:
            u32(b, p3, 6)


model("tflite_unsupported_op.tflite", unsupported_op)
# Tensor 0's buffer index (Tensor field 2, uint) points past the buffers vector.
model("tflite_tensor_buffer_out_of_range.tflite", lambda b: u32(b, field_pos(MODEL, TENSOR0, 2), N_BUFFERS + 1000))
# An operator's opcode_index (Operator field 0, uint) points past the operator codes.
model("tflite_opcode_index_out_of_range.tflite", lambda b: u32(b, field_pos(MODEL, OP_WITH_INDEX, 0), N_OPCODES + 7))
