//! The Thumb IT-block state that xPSR holds, read the way the debugger needs it.

/// xPSR's IT bits (IT[7:2] in 15:10, IT[1:0] in 26:25).
pub(super) const IT_BITS: u64 = 0x0600_FC00;

/// ITSTATE from xPSR.
fn itstate(xpsr: u64) -> u8 {
    (((xpsr >> 10) & 0x3F) << 2 | ((xpsr >> 25) & 3)) as u8
}

/// Whether an instruction with this xPSR executes: outside an IT block always, inside
/// one when its condition (ITSTATE[7:4]) holds for the flags.
pub(super) fn condition_passes(xpsr: u64) -> bool {
    let it = itstate(xpsr);
    if it & 0xF == 0 {
        return true;
    }
    let (n, z, c, v) = (xpsr >> 31 & 1 == 1, xpsr >> 30 & 1 == 1, xpsr >> 29 & 1 == 1, xpsr >> 28 & 1 == 1);
    let cond = it >> 4;
    let base = match cond >> 1 {
        0 => z,
        1 => c,
        2 => n,
        3 => v,
        4 => c && !z,
        5 => n == v,
        6 => !z && n == v,
        _ => true,
    };
    if cond & 1 == 1 && cond != 0xF {
        !base
    } else {
        base
    }
}

/// Whether the IT state in `xpsr` has instructions left after the current one: the next
/// instruction is still inside the block.
pub(super) fn it_continues(xpsr: u64) -> bool {
    // ITSTATE = IT[7:2] in xPSR[15:10], IT[1:0] in xPSR[26:25]; IT[3:0] is the mask,
    // which shifts left per instruction: after this one, instructions remain while the
    // mask's low three bits are not all zero.
    let it = (((xpsr >> 10) & 0x3F) << 2 | ((xpsr >> 25) & 3)) as u8;
    it & 0x7 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_state_tells_whether_the_block_goes_on() {
        // ITE EQ (firstcond 0000, mask 1100): IT[7:0] = 0000_1100 before the first
        // instruction; after it the mask shifts to 1000 (one left).
        let xpsr = |it: u8| (((it >> 2) as u64) << 10) | ((it & 3) as u64) << 25;
        assert!(it_continues(xpsr(0b0000_1100)), "first of two: one left");
        assert!(!it_continues(xpsr(0b0001_1000)), "the last one");
        assert!(!it_continues(0));
    }

    #[test]
    fn conditions_inside_it_blocks() {
        // xPSR with ITSTATE = cond:mask (mask 1000: the last instruction) and NZCV.
        let x = |cond: u8, nzcv: u64| {
            let it = cond << 4 | 0b1000;
            (((it >> 2) as u64) << 10) | ((it & 3) as u64) << 25 | nzcv << 28
        };
        assert!(condition_passes(0), "outside an IT block");
        assert!(condition_passes(x(0b0000, 0b0100)), "EQ with Z");
        assert!(!condition_passes(x(0b0000, 0)), "EQ without Z");
        assert!(condition_passes(x(0b0001, 0)), "NE without Z");
        assert!(condition_passes(x(0b1001, 0b0100)), "LS with Z");
        assert!(!condition_passes(x(0b1000, 0b0110)), "HI needs C and not Z");
        assert!(condition_passes(x(0b1010, 0b1001)), "GE: N == V");
        assert!(!condition_passes(x(0b1011, 0b1001)), "LT: N != V");
        assert!(condition_passes(x(0b1110, 0)), "AL");
    }
}
