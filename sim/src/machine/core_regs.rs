//! Core register `n` (r0–r15, as instruction encodings number them) as unicorn names it.
//!
//! unicorn numbers r0–r12 consecutively but SP, LR and PC apart from them: `R0 + 13` is
//! S0, a floating-point register, so an encoding's register number must go through here.

use super::*;

/// The unicorn register of core register `n` (0–15); `None` beyond.
pub fn core_reg(n: u8) -> Option<RegisterARM> {
    const R: [RegisterARM; 16] = [
        RegisterARM::R0,
        RegisterARM::R1,
        RegisterARM::R2,
        RegisterARM::R3,
        RegisterARM::R4,
        RegisterARM::R5,
        RegisterARM::R6,
        RegisterARM::R7,
        RegisterARM::R8,
        RegisterARM::R9,
        RegisterARM::R10,
        RegisterARM::R11,
        RegisterARM::R12,
        RegisterARM::SP,
        RegisterARM::LR,
        RegisterARM::PC,
    ];
    R.get(n as usize).copied()
}

/// The value of core register `n` now (0 for a number beyond r15). Reading r15 gives
/// unicorn's PC, the current instruction's address: callers that need the architectural
/// PC + 4 of an operand handle PC-relative forms themselves.
pub fn read_core_reg<D>(uc: &Unicorn<D>, n: u8) -> u32 {
    core_reg(n).and_then(|r| uc.reg_read(r).ok()).unwrap_or(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicorn_engine::unicorn_const::{Arch, Mode};

    #[test]
    fn sp_lr_and_pc_are_not_the_registers_after_r12() {
        let mut uc = Unicorn::new(Arch::ARM, Mode::THUMB).unwrap();
        uc.reg_write(RegisterARM::SP, 0x2000_1000).unwrap();
        uc.reg_write(RegisterARM::LR, 0x0000_0123).unwrap();
        uc.reg_write(RegisterARM::R12, 12).unwrap();
        assert_eq!(read_core_reg(&uc, 13), 0x2000_1000, "r13 is SP, not S0");
        assert_eq!(read_core_reg(&uc, 14), 0x0000_0123);
        assert_eq!(read_core_reg(&uc, 12), 12);
        assert_eq!(core_reg(15), Some(RegisterARM::PC));
        assert_eq!(core_reg(16), None);
        assert_eq!(read_core_reg(&uc, 16), 0);
    }
}
