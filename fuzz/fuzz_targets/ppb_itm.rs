//! ITM / DWT / SysTick and the rest of the Private Peripheral Bus (NVIC, SCB, MPU, cache
//! maintenance, FPU control): a `Ppb` built for one of the board presets, driven by a
//! sequence of reads and writes decoded from the input at non-decreasing modelled cycles.
//!
//! Input: 1 byte preset index, 4 bytes VTOR, then 8-byte records
//! [op, a0, a1, a2, value0..3]:
//! - op bit 7: address = KNOWN[a0 % 48] (a modelled register), else 0xE00xxxxx from a0..a2;
//! - op bit 6: write (size from op bits 0..1: 1, 2, 4, 4), else read;
//! - op bits 3..4: time step 0..7 cycles (op bits 0..2), up to 2^16, or up to 2^40.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simbench_cores::board::{Board, PRESETS};
use simbench_sim::peripherals::nvic;
use simbench_sim::peripherals::scb as scs;
use simbench_sim::peripherals::{self as ppb, Ppb, PpbEvent};
use std::sync::OnceLock;

/// Registers with a model, so records hit them far more often than random addresses would.
const KNOWN: [u32; 48] = [
    0xE000_0000, // ITM stimulus port 0
    0xE000_0004, // port 1
    0xE000_007C, // port 31
    ppb::ITM_STIM_END,
    ppb::DWT_CTRL,
    ppb::DWT_CYCCNT,
    ppb::SYST_CSR,
    ppb::SYST_RVR,
    ppb::SYST_CVR,
    ppb::SYST_CALIB,
    ppb::SCB_CPUID,
    ppb::DEMCR,
    nvic::ICSR,
    nvic::VTOR,
    nvic::AIRCR,
    nvic::SCR,
    nvic::SHPR1,
    nvic::SHPR1 + 4,
    nvic::SHPR1 + 8,
    nvic::SHCSR,
    nvic::CFSR,
    nvic::HFSR,
    nvic::MMFAR,
    nvic::BFAR,
    nvic::NVIC_ISER,
    nvic::NVIC_ISER + 4,
    nvic::NVIC_ICER,
    nvic::NVIC_ISPR,
    nvic::NVIC_ICPR,
    nvic::NVIC_IABR,
    nvic::NVIC_IPR,
    nvic::NVIC_IPR + 0x1EC,
    nvic::STIR,
    scs::CCR,
    scs::CPACR,
    scs::CLIDR,
    scs::CTR,
    scs::CCSIDR,
    scs::CSSELR,
    scs::MPU_TYPE,
    scs::MPU_CTRL,
    scs::MPU_RNR,
    scs::MPU_RBAR,
    scs::MPU_RASR,
    scs::MPU_MAIR0,
    scs::FPCCR,
    scs::ICIALLU,
    0xE000_EF5C, // DCIMVAC (data cache maintenance by address)
];

fn boards() -> &'static [Board] {
    static B: OnceLock<Vec<Board>> = OnceLock::new();
    B.get_or_init(|| PRESETS.iter().map(|(n, _)| Board::preset(n).expect("preset")).collect())
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let board = &boards()[data[0] as usize % boards().len()];
    let vtor = u32::from_le_bytes([data[1], data[2], data[3], data[4]]) & !0x7F;
    let mut p = Ppb::for_board(board, vtor);
    let mut now: u64 = 0;
    for rec in data[5..].chunks_exact(8) {
        let op = rec[0];
        let addr =
            if op & 0x80 != 0 { KNOWN[rec[1] as usize % KNOWN.len()] } else { 0xE000_0000 | (u32::from_le_bytes([rec[1], rec[2], rec[3], 0]) & 0x000F_FFFF) };
        let value = u32::from_le_bytes([rec[4], rec[5], rec[6], rec[7]]);
        // Time never goes backwards and stays far from u64 overflow (a run is < 2^50 cycles).
        now += match (op >> 3) & 3 {
            0 => (op & 7) as u64,
            1 | 2 => u16::from_le_bytes([rec[2], rec[3]]) as u64,
            _ => (u16::from_le_bytes([rec[2], rec[3]]) as u64) << 24,
        };
        if op & 0x40 != 0 {
            let size = [1usize, 2, 4, 4][(op & 3) as usize];
            match p.write(addr, size, value, now) {
                PpbEvent::Text(bytes) => assert!(bytes.len() == size, "ITM text of {} bytes for a {size}-byte write", bytes.len()),
                PpbEvent::Marker { port, .. } => assert!((1..32).contains(&port)),
                PpbEvent::MpuChanged => {
                    // What the machine does after an MPU write: look up the new map.
                    let _ = p.scs.mpu.intervals(0, 1 << 32);
                    let _ = p.scs.mpu.access(value);
                }
                _ => {}
            }
        } else {
            let v = p.read(addr, now);
            if addr == ppb::SYST_CVR {
                assert!(v <= 0x00FF_FFFF, "SysTick current value {v:#x} exceeds 24 bits");
            }
        }
        if let Some(t) = p.systick_interrupt_after(now) {
            assert!(t > now, "next SysTick interrupt {t} is not after {now}");
        }
        let _ = p.nvic.any_pending();
    }
    let _ = p.unmodelled.len();
});
