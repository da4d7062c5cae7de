#!/usr/bin/env python3
"""Writes the hand-made seeds of the ppb_itm and semihost targets (formats: see the
comments at the top of fuzz_targets/ppb_itm.rs and fuzz_targets/semihost.rs).
Usage: make_sys_seeds.py CORPUS_DIR   (writes CORPUS_DIR/ppb_itm and CORPUS_DIR/semihost)"""
import struct
import sys
from pathlib import Path

# ppb_itm: indices into KNOWN (fuzz_targets/ppb_itm.rs)
(STIM0, STIM1, STIM31, STIM_END, DWT_CTRL, CYCCNT, CSR, RVR, CVR, CALIB, CPUID, DEMCR, ICSR, VTOR, AIRCR, SCR,
 SHPR1, SHPR2, SHPR3, SHCSR, CFSR, HFSR, MMFAR, BFAR, ISER0, ISER1, ICER, ISPR, ICPR, IABR, IPR0, IPR_LAST,
 STIR, CCR, CPACR, CLIDR, CTR, CCSIDR, CSSELR, MPU_TYPE, MPU_CTRL, MPU_RNR, MPU_RBAR, MPU_RASR, MPU_MAIR0,
 FPCCR, ICIALLU, DCIMVAC) = range(48)


def rec(write, known, value, step=0, size_sel=2, raw_addr=None):
    """One 8-byte record: a read or write of KNOWN[known] (or of 0xE00xxxxx raw_addr),
    `step` cycles after the previous one."""
    op = (0x40 if write else 0) | (size_sel & 3)
    if raw_addr is None:
        op |= 0x80
        a = bytes([known, 0, 0])
    else:
        a = struct.pack("<I", raw_addr & 0xFFFFF)[:3]
    if step:
        op |= 0x08  # 16-bit step from address bytes 1..2 of the record
        a = a[:1] + struct.pack("<H", step)
    return bytes([op]) + a + struct.pack("<I", value & 0xFFFFFFFF)


def ppb_seeds():
    m7, m33 = struct.pack("<BI", 2, 0), struct.pack("<BI", 1, 0x10000000)  # preset index, VTOR
    yield "cyccnt", m7 + rec(1, DEMCR, 1 << 24) + rec(1, DWT_CTRL, 1) + rec(0, CYCCNT, 0, step=1000) + rec(1, CYCCNT, 5) + rec(0, CYCCNT, 0, step=7) + rec(1, DWT_CTRL, 0) + rec(0, DWT_CTRL, 0)
    yield "systick", m7 + rec(1, RVR, 99) + rec(1, CVR, 0) + rec(1, CSR, 7) + rec(0, CVR, 0, step=50) + rec(0, CSR, 0, step=200) + rec(0, ICSR, 0) + rec(1, CSR, 0) + rec(0, CVR, 0, step=3) + rec(0, CALIB, 0)
    yield "itm", m7 + b"".join(rec(1, STIM0, ord(c), size_sel=0) for c in "hi\n") + rec(1, STIM1, 0xDEAD) + rec(1, STIM31, 7) + rec(1, STIM_END, 1) + rec(0, STIM0, 0)
    yield "scb_cache", m7 + rec(0, CPUID, 0) + rec(1, CCR, 3 << 16) + rec(1, CSSELR, 1) + rec(0, CCSIDR, 0) + rec(1, ICIALLU, 0) + rec(1, DCIMVAC, 0x20000000) + rec(1, CPACR, 0xF << 20) + rec(1, FPCCR, 0xC0000000) + rec(1, 0, 0x1234, raw_addr=0xED3C) + rec(0, 0, 0, raw_addr=0xED3C)
    yield "nvic", m7 + rec(1, AIRCR, 0x05FA0300) + rec(1, IPR0, 0x80) + rec(1, ISER0, 1) + rec(1, ISPR, 1) + rec(0, ICSR, 0) + rec(1, STIR, 3) + rec(1, SHPR3, 0xF0F00000) + rec(1, SHCSR, 0x70000) + rec(0, CFSR, 0) + rec(1, ICPR, 0xFFFFFFFF) + rec(1, VTOR, 0x20000000)
    yield "mpu_v7", m7 + rec(0, MPU_TYPE, 0) + rec(1, MPU_RNR, 0) + rec(1, MPU_RBAR, 0x20000000) + rec(1, MPU_RASR, (0x3 << 24) | (16 << 1) | 1) + rec(1, MPU_RBAR, 0x00000010 | 1) + rec(1, MPU_RASR, (0x6 << 24) | (18 << 1) | 1) + rec(1, MPU_CTRL, 5)
    yield "mpu_v8", m33 + rec(1, MPU_MAIR0, 0x44) + rec(1, MPU_RNR, 0) + rec(1, MPU_RBAR, 0x20000000 | 2) + rec(1, MPU_RASR, 0x20001FE1) + rec(1, MPU_CTRL, 5) + rec(0, MPU_RASR, 0)


def sh_seed(calls, mem, base=0x20000000, cycles=250_000_000, hz=100e6):
    out = struct.pack("<IQd", base, cycles, hz) + bytes([len(calls)])
    for op, r1 in calls:
        out += bytes([0x80 | op]) + struct.pack("<I", r1)
    return out + mem


def semihost_seeds():
    b = 0x20000000
    mem = bytearray(64)
    mem[0:12] = struct.pack("<III", 1, b + 16, 5)   # SYS_WRITE block: fd 1, ptr, len 5
    mem[16:22] = b"hello\0"
    mem[24:28] = struct.pack("<I", b + 32)          # SYS_HEAPINFO pointer
    mem[48:56] = struct.pack("<II", 0x20026, 3)     # SYS_EXIT_EXTENDED block
    mem = bytes(mem)
    yield "write", sh_seed([(0x05, b), (0x04, b + 16), (0x03, b + 17)], mem)
    yield "time", sh_seed([(0x10, 0), (0x11, 0), (0x31, 0), (0x30, b + 32), (0x13, 0)], mem)
    yield "heap_exit", sh_seed([(0x16, b + 24), (0x20, b + 48), (0x18, 0x20026)], mem)
    yield "unsupported", sh_seed([(0x01, b), (0x06, b), (0x7F, 0)], mem)


if __name__ == "__main__":
    root = Path(sys.argv[1])
    for sub, seeds in [("ppb_itm", ppb_seeds()), ("semihost", semihost_seeds())]:
        (root / sub).mkdir(parents=True, exist_ok=True)
        for name, data in seeds:
            (root / sub / f"seed_{name}").write_bytes(data)
