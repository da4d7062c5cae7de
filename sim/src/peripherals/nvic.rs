//! The exception model: NVIC and the exception-related SCB registers.
//!
//! unicorn executes instructions but does not take M-profile exceptions, so simbench keeps
//! the architectural state here (pending, active, enabled, priorities, fault status) and
//! decides which exception to take; `sim/src/exceptions.rs` performs entry and return on
//! the emulated core. Pure logic, unit-tested directly.
//!
//! Register layout, reset values and the priority rules: Armv7-M Architecture Reference
//! Manual B1.5 (exception model), B3.2 (SCB: ICSR, VTOR, AIRCR, SCR, SHPR1–3, SHCSR, CFSR,
//! HFSR, MMFAR, BFAR) and B3.4 (NVIC: ISER, ICER, ISPR, ICPR, IABR, IPR, STIR); the Armv8-M
//! ARM keeps the same addresses for the Secure state simbench models.

/// Exception numbers (Armv7-M ARM B1.5.2).
pub const NMI: usize = 2;
pub const HARDFAULT: usize = 3;
pub const MEMMANAGE: usize = 4;
pub const BUSFAULT: usize = 5;
pub const USAGEFAULT: usize = 6;
pub const SVCALL: usize = 11;
pub const PENDSV: usize = 14;
pub const SYSTICK: usize = 15;
/// Exception number of external interrupt 0.
pub const IRQ0: usize = 16;

pub const ICSR: u32 = 0xE000_ED04;
pub const VTOR: u32 = 0xE000_ED08;
pub const AIRCR: u32 = 0xE000_ED0C;
pub const SCR: u32 = 0xE000_ED10;
pub const SHPR1: u32 = 0xE000_ED18;
pub const SHCSR: u32 = 0xE000_ED24;
pub const CFSR: u32 = 0xE000_ED28;
pub const HFSR: u32 = 0xE000_ED2C;
pub const MMFAR: u32 = 0xE000_ED34;
pub const BFAR: u32 = 0xE000_ED38;
pub const NVIC_ISER: u32 = 0xE000_E100;
pub const NVIC_ICER: u32 = 0xE000_E180;
pub const NVIC_ISPR: u32 = 0xE000_E200;
pub const NVIC_ICPR: u32 = 0xE000_E280;
pub const NVIC_IABR: u32 = 0xE000_E300;
pub const NVIC_IPR: u32 = 0xE000_E400;
pub const STIR: u32 = 0xE000_EF00;

/// CFSR bits (Armv7-M ARM B3.2.15–B3.2.17) and HFSR bits (B3.2.16).
pub mod cfsr {
    pub const IACCVIOL: u32 = 1 << 0;
    pub const DACCVIOL: u32 = 1 << 1;
    pub const MSTKERR: u32 = 1 << 4;
    pub const MMARVALID: u32 = 1 << 7;
    pub const IBUSERR: u32 = 1 << 8;
    pub const PRECISERR: u32 = 1 << 9;
    pub const STKERR: u32 = 1 << 12;
    pub const BFARVALID: u32 = 1 << 15;
    pub const UNDEFINSTR: u32 = 1 << 16;
    pub const INVSTATE: u32 = 1 << 17;
    pub const INVPC: u32 = 1 << 18;
    pub const NOCP: u32 = 1 << 19;
    pub const STKOF: u32 = 1 << 20;
    pub const UNALIGNED: u32 = 1 << 24;
    pub const DIVBYZERO: u32 = 1 << 25;
    pub const HFSR_VECTTBL: u32 = 1 << 1;
    pub const HFSR_FORCED: u32 = 1 << 30;

    /// Names of the bits set in CFSR and HFSR, for fault reports.
    pub fn decode(cfsr: u32, hfsr: u32) -> Vec<&'static str> {
        const CFSR_NAMES: [(u32, &str); 19] = [
            (IACCVIOL, "MMFSR.IACCVIOL (instruction access violation)"),
            (DACCVIOL, "MMFSR.DACCVIOL (data access violation)"),
            (1 << 3, "MMFSR.MUNSTKERR (unstacking)"),
            (MSTKERR, "MMFSR.MSTKERR (stacking)"),
            (1 << 5, "MMFSR.MLSPERR (lazy FP stacking)"),
            (MMARVALID, "MMFSR.MMARVALID (MMFAR holds the address)"),
            (IBUSERR, "BFSR.IBUSERR (instruction bus error)"),
            (PRECISERR, "BFSR.PRECISERR (precise data bus error)"),
            (1 << 10, "BFSR.IMPRECISERR (imprecise data bus error)"),
            (1 << 11, "BFSR.UNSTKERR (unstacking)"),
            (STKERR, "BFSR.STKERR (stacking)"),
            (BFARVALID, "BFSR.BFARVALID (BFAR holds the address)"),
            (UNDEFINSTR, "UFSR.UNDEFINSTR (undefined instruction)"),
            (INVSTATE, "UFSR.INVSTATE (invalid state: non-Thumb)"),
            (INVPC, "UFSR.INVPC (invalid EXC_RETURN)"),
            (NOCP, "UFSR.NOCP (coprocessor disabled)"),
            (STKOF, "UFSR.STKOF (stack limit)"),
            (UNALIGNED, "UFSR.UNALIGNED (unaligned access)"),
            (DIVBYZERO, "UFSR.DIVBYZERO (divide by zero)"),
        ];
        let mut out: Vec<&str> = CFSR_NAMES.iter().filter(|(b, _)| cfsr & b != 0).map(|(_, n)| *n).collect();
        if hfsr & HFSR_VECTTBL != 0 {
            out.push("HFSR.VECTTBL (vector table read failed)");
        }
        if hfsr & HFSR_FORCED != 0 {
            out.push("HFSR.FORCED (escalated to HardFault)");
        }
        out
    }
}

/// ICSR bits (Armv7-M ARM B3.2.4).
const ICSR_PENDSTCLR: u32 = 1 << 25;
const ICSR_PENDSTSET: u32 = 1 << 26;
const ICSR_PENDSVCLR: u32 = 1 << 27;
const ICSR_PENDSVSET: u32 = 1 << 28;
const ICSR_NMIPENDSET: u32 = 1 << 31;
/// SHCSR enable bits for the configurable faults (B3.2.13).
const SHCSR_MEMFAULTENA: u32 = 1 << 16;
const SHCSR_BUSFAULTENA: u32 = 1 << 17;
const SHCSR_USGFAULTENA: u32 = 1 << 18;
/// AIRCR write key (B3.2.6).
const AIRCR_VECTKEY: u32 = 0x05FA;

/// A synchronous fault detected while executing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// MemManage: MPU or execute-never violation (`data` = true for a data access).
    MemManage { data: bool, addr: Option<u32> },
    /// BusFault: an access to nothing (`data` = true for a data access).
    Bus { data: bool, addr: Option<u32> },
    /// UsageFault, with its CFSR bit.
    Usage(u32),
}

impl FaultKind {
    fn exception(self) -> usize {
        match self {
            FaultKind::MemManage { .. } => MEMMANAGE,
            FaultKind::Bus { .. } => BUSFAULT,
            FaultKind::Usage(_) => USAGEFAULT,
        }
    }
}

/// Interrupt masks from the core's special registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Masks {
    pub primask: bool,
    pub faultmask: bool,
    pub basepri: u8,
}

/// NVIC and SCB exception state.
#[derive(Clone, Debug)]
pub struct Nvic {
    /// Implemented priority bits (the top bits of each 8-bit priority field).
    prio_bits: u32,
    /// External interrupts modelled.
    num_irq: usize,
    pending: Vec<bool>,
    active: Vec<bool>,
    /// Enable bits of the external interrupts (index = IRQ number).
    enabled: Vec<bool>,
    /// Raw priority bytes by exception number (system handlers' from SHPR, IRQs' from IPR).
    priority: Vec<u8>,
    pub vtor: u32,
    prigroup: u32,
    scr: u32,
    shcsr: u32,
    pub cfsr: u32,
    pub hfsr: u32,
    pub mmfar: u32,
    pub bfar: u32,
    /// Something may have become takeable: the machine re-evaluates at the next block.
    pub check_due: bool,
    /// AIRCR.SYSRESETREQ was written with the key.
    pub reset_requested: bool,
}

impl Nvic {
    /// `prio_bits`: priority bits the device implements (3 on LPC55S69, 4 on i.MX RT and
    /// STM32, from their reference manuals' `__NVIC_PRIO_BITS`); `num_irq`: interrupt lines.
    pub fn new(prio_bits: u32, num_irq: usize, vtor: u32) -> Nvic {
        let n = IRQ0 + num_irq;
        Nvic {
            prio_bits: prio_bits.clamp(2, 8),
            num_irq,
            pending: vec![false; n],
            active: vec![false; n],
            enabled: vec![false; num_irq],
            priority: vec![0; n],
            vtor,
            prigroup: 0,
            scr: 0,
            shcsr: 0,
            cfsr: 0,
            hfsr: 0,
            mmfar: 0,
            bfar: 0,
            check_due: false,
            reset_requested: false,
        }
    }

    fn prio_mask(&self) -> u8 {
        (0xFFu32 << (8 - self.prio_bits)) as u8
    }

    /// Priority as a signed number: reset −3, NMI −2, HardFault −1, others their field.
    pub fn priority_of(&self, n: usize) -> i32 {
        match n {
            1 => -3,
            NMI => -2,
            HARDFAULT => -1,
            _ => self.priority.get(n).copied().unwrap_or(0) as i32,
        }
    }

    /// Group priority: the priority with the subpriority bits (below PRIGROUP+1) cleared.
    fn group(&self, prio: i32) -> i32 {
        if prio < 0 {
            prio
        } else {
            prio & !((2i32 << self.prigroup) - 1)
        }
    }

    /// Whether exception `n` can be taken when pending (enabled for IRQs; configurable
    /// faults are always takeable here since disabled ones escalate before pending).
    fn enabled(&self, n: usize) -> bool {
        n < IRQ0 || self.enabled.get(n - IRQ0).copied().unwrap_or(false)
    }

    /// The execution priority: the highest (lowest number) of the active exceptions'
    /// group priorities and the masks; 256 in Thread mode with nothing masked (B1.5.4).
    pub fn execution_priority(&self, masks: Masks) -> i32 {
        let mut p = 256;
        for (n, &a) in self.active.iter().enumerate() {
            if a {
                p = p.min(self.group(self.priority_of(n)));
            }
        }
        if masks.basepri & self.prio_mask() != 0 {
            p = p.min(self.group((masks.basepri & self.prio_mask()) as i32));
        }
        if masks.primask {
            p = p.min(0);
        }
        if masks.faultmask {
            p = p.min(-1);
        }
        p
    }

    /// The pending exception that preempts now, if any: the lowest group priority, then
    /// subpriority, then exception number, and only when below the execution priority.
    pub fn next_to_take(&self, masks: Masks) -> Option<usize> {
        let best = self
            .pending
            .iter()
            .enumerate()
            .filter(|&(n, &p)| p && self.enabled(n))
            .min_by_key(|&(n, _)| (self.group(self.priority_of(n)), self.priority_of(n), n))
            .map(|(n, _)| n)?;
        (self.group(self.priority_of(best)) < self.execution_priority(masks)).then_some(best)
    }

    /// Whether anything is pending (enabled or not): the machine keeps checking while so.
    /// External interrupt lines the firmware enabled (ISER), by IRQ number.
    pub fn enabled_irqs(&self) -> Vec<usize> {
        self.enabled.iter().enumerate().filter(|(_, &e)| e).map(|(i, _)| i).collect()
    }

    pub fn any_pending(&self) -> bool {
        self.pending.iter().enumerate().any(|(n, &p)| p && self.enabled(n))
    }

    pub fn set_pending(&mut self, n: usize) {
        if let Some(p) = self.pending.get_mut(n) {
            *p = true;
            self.check_due = true;
        }
    }

    pub fn is_active(&self, n: usize) -> bool {
        self.active.get(n).copied().unwrap_or(false)
    }

    pub fn active_count(&self) -> usize {
        self.active.iter().filter(|&&a| a).count()
    }

    /// Exception entry: `n` becomes active and stops pending.
    pub fn activate(&mut self, n: usize) {
        if n < self.active.len() {
            self.active[n] = true;
            self.pending[n] = false;
        }
    }

    /// Exception return from `n`.
    pub fn deactivate(&mut self, n: usize) {
        if let Some(a) = self.active.get_mut(n) {
            *a = false;
            self.check_due = true;
        }
    }

    /// Record a synchronous fault and choose the exception that handles it: the
    /// configurable fault when enabled in SHCSR and able to preempt, else HardFault with
    /// HFSR.FORCED. `None` means lockup: a fault at priority −1 or higher (B1.5.15).
    pub fn raise_fault(&mut self, fault: FaultKind, masks: Masks) -> Option<usize> {
        let (bits, enable) = match fault {
            FaultKind::MemManage { data, addr } => {
                if let Some(a) = addr {
                    self.mmfar = a;
                }
                (if data { cfsr::DACCVIOL } else { cfsr::IACCVIOL } | if addr.is_some() { cfsr::MMARVALID } else { 0 }, SHCSR_MEMFAULTENA)
            }
            FaultKind::Bus { data, addr } => {
                if let Some(a) = addr {
                    self.bfar = a;
                }
                (if data { cfsr::PRECISERR } else { cfsr::IBUSERR } | if addr.is_some() { cfsr::BFARVALID } else { 0 }, SHCSR_BUSFAULTENA)
            }
            FaultKind::Usage(bit) => (bit, SHCSR_USGFAULTENA),
        };
        self.cfsr |= bits;
        let n = fault.exception();
        let exec = self.execution_priority(masks);
        if self.shcsr & enable != 0 && self.group(self.priority_of(n)) < exec {
            return Some(n);
        }
        self.escalate(masks)
    }

    /// HardFault with HFSR.FORCED, unless the core already runs at priority −1 or higher.
    pub fn escalate(&mut self, masks: Masks) -> Option<usize> {
        self.hfsr |= cfsr::HFSR_FORCED;
        (self.execution_priority(Masks { faultmask: false, ..masks }) > -1).then_some(HARDFAULT)
    }

    /// A vector-table read failed while taking an exception: HardFault with VECTTBL.
    pub fn vector_fault(&mut self) {
        self.hfsr |= cfsr::HFSR_VECTTBL;
    }

    /// Read the exception-related register at `addr` (word, or a byte of IPR/SHPR);
    /// `None` when `addr` is not one of them. `ipsr` is the exception now running.
    pub fn read(&self, addr: u32, ipsr: usize) -> Option<u32> {
        let bits = |v: &[bool], base: usize, word: usize| -> u32 {
            (0..32).filter(|i| v.get(base + word * 32 + i).copied().unwrap_or(false)).fold(0, |acc, i| acc | 1 << i)
        };
        let irq_word = |base: u32| ((addr - base) / 4) as usize;
        Some(match addr {
            ICSR => {
                let pending = self.pending.iter().enumerate().filter(|&(n, &p)| p && self.enabled(n)).map(|(n, _)| n).min_by_key(|&n| (self.priority_of(n), n));
                let mut v = ipsr as u32 & 0x1FF;
                if let Some(p) = pending {
                    v |= (p as u32 & 0x1FF) << 12;
                }
                if self.pending.iter().skip(IRQ0).any(|&p| p) {
                    v |= 1 << 22; // ISRPENDING
                }
                if self.active_count() <= 1 {
                    v |= 1 << 11; // RETTOBASE
                }
                if self.pending[SYSTICK] {
                    v |= ICSR_PENDSTSET;
                }
                if self.pending[PENDSV] {
                    v |= ICSR_PENDSVSET;
                }
                if self.pending[NMI] {
                    v |= ICSR_NMIPENDSET;
                }
                v
            }
            VTOR => self.vtor,
            AIRCR => (0xFA05 << 16) | (self.prigroup << 8),
            SCR => self.scr,
            0xE000_ED18..=0xE000_ED23 => self.bytes_at(addr - SHPR1 + 4),
            SHCSR => {
                let mut v = self.shcsr & (SHCSR_MEMFAULTENA | SHCSR_BUSFAULTENA | SHCSR_USGFAULTENA);
                for (n, bit) in [(MEMMANAGE, 0), (BUSFAULT, 1), (USAGEFAULT, 3), (SVCALL, 7), (PENDSV, 10), (SYSTICK, 11)] {
                    if self.active[n] {
                        v |= 1 << bit;
                    }
                }
                for (n, bit) in [(USAGEFAULT, 12), (MEMMANAGE, 13), (BUSFAULT, 14), (SVCALL, 15)] {
                    if self.pending[n] {
                        v |= 1 << bit;
                    }
                }
                v
            }
            CFSR => self.cfsr,
            HFSR => self.hfsr,
            MMFAR => self.mmfar,
            BFAR => self.bfar,
            0xE000_E100..=0xE000_E13F => bits(&self.enabled, 0, irq_word(NVIC_ISER)),
            0xE000_E180..=0xE000_E1BF => bits(&self.enabled, 0, irq_word(NVIC_ICER)),
            0xE000_E200..=0xE000_E23F => bits(&self.pending, IRQ0, irq_word(NVIC_ISPR)),
            0xE000_E280..=0xE000_E2BF => bits(&self.pending, IRQ0, irq_word(NVIC_ICPR)),
            0xE000_E300..=0xE000_E33F => bits(&self.active, IRQ0, irq_word(NVIC_IABR)),
            0xE000_E400..=0xE000_E5EF => self.bytes_at(addr - NVIC_IPR + IRQ0 as u32),
            STIR => 0,
            _ => return None,
        })
    }

    /// Four priority bytes from exception number `first`, little-endian.
    fn bytes_at(&self, first: u32) -> u32 {
        (0..4).map(|i| self.priority.get(first as usize + i).copied().unwrap_or(0) as u32).enumerate().fold(0, |acc, (i, b)| acc | b << (8 * i))
    }

    /// Write `size` bytes of `value` to priority bytes from exception number `first`;
    /// unimplemented low bits read as zero.
    fn set_bytes(&mut self, first: u32, size: usize, value: u32) {
        let mask = self.prio_mask();
        for i in 0..size.min(4) {
            if let Some(p) = self.priority.get_mut(first as usize + i) {
                *p = (value >> (8 * i)) as u8 & mask;
            }
        }
    }

    /// Write an exception-related register; `false` when `addr` is not one of them.
    pub fn write(&mut self, addr: u32, size: usize, value: u32) -> bool {
        let set_bits = |v: &mut Vec<bool>, base: usize, word: usize, on: bool| {
            for i in 0..32 {
                if value & (1 << i) != 0 {
                    if let Some(b) = v.get_mut(base + word * 32 + i) {
                        *b = on;
                    }
                }
            }
        };
        let irq_word = |base: u32| ((addr - base) / 4) as usize;
        match addr {
            ICSR => {
                if value & ICSR_NMIPENDSET != 0 {
                    self.pending[NMI] = true;
                }
                if value & ICSR_PENDSVSET != 0 {
                    self.pending[PENDSV] = true;
                } else if value & ICSR_PENDSVCLR != 0 {
                    self.pending[PENDSV] = false;
                }
                if value & ICSR_PENDSTSET != 0 {
                    self.pending[SYSTICK] = true;
                } else if value & ICSR_PENDSTCLR != 0 {
                    self.pending[SYSTICK] = false;
                }
            }
            // TBLOFF: bits [31:7] (the low bits are reserved and read as zero).
            VTOR => self.vtor = value & !0x7F,
            AIRCR => {
                if value >> 16 == AIRCR_VECTKEY {
                    self.prigroup = (value >> 8) & 7;
                    self.reset_requested |= value & (1 << 2) != 0;
                }
            }
            SCR => self.scr = value & 0x16,
            0xE000_ED18..=0xE000_ED23 => self.set_bytes(addr - SHPR1 + 4, size, value),
            SHCSR => {
                self.shcsr = value & (SHCSR_MEMFAULTENA | SHCSR_BUSFAULTENA | SHCSR_USGFAULTENA);
                // Writing the active and pending bits is for debuggers and context
                // restore; simbench keeps its own exception state.
            }
            // Fault status registers are write-one-to-clear.
            CFSR => self.cfsr &= !value,
            HFSR => self.hfsr &= !value,
            MMFAR => self.mmfar = value,
            BFAR => self.bfar = value,
            0xE000_E100..=0xE000_E13F => set_bits(&mut self.enabled, 0, irq_word(NVIC_ISER), true),
            0xE000_E180..=0xE000_E1BF => set_bits(&mut self.enabled, 0, irq_word(NVIC_ICER), false),
            0xE000_E200..=0xE000_E23F => set_bits(&mut self.pending, IRQ0, irq_word(NVIC_ISPR), true),
            0xE000_E280..=0xE000_E2BF => set_bits(&mut self.pending, IRQ0, irq_word(NVIC_ICPR), false),
            0xE000_E300..=0xE000_E33F => {} // IABR is read-only
            0xE000_E400..=0xE000_E5EF => self.set_bytes(addr - NVIC_IPR + IRQ0 as u32, size, value),
            STIR => {
                let irq = (value & 0x1FF) as usize;
                if irq < self.num_irq {
                    self.pending[IRQ0 + irq] = true;
                }
            }
            _ => return false,
        }
        self.check_due = true;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nvic() -> Nvic {
        Nvic::new(3, 64, 0x1000_0000)
    }
    const NONE: Masks = Masks { primask: false, faultmask: false, basepri: 0 };

    #[test]
    fn priorities_and_preemption() {
        let mut n = nvic();
        // SHPR3: PendSV = 0xFF (masked to 0xE0 by 3 bits), SysTick = 0x40.
        n.write(0xE000_ED20, 4, 0x40FF_0000);
        assert_eq!(n.read(0xE000_ED20, 0), Some(0x40E0_0000));
        n.set_pending(PENDSV);
        n.set_pending(SYSTICK);
        assert_eq!(n.next_to_take(NONE), Some(SYSTICK), "SysTick 0x40 beats PendSV 0xE0");
        n.activate(SYSTICK);
        // PendSV (0xE0) cannot preempt the SysTick handler (0x40).
        assert_eq!(n.next_to_take(NONE), None);
        n.deactivate(SYSTICK);
        assert_eq!(n.next_to_take(NONE), Some(PENDSV));
        // PRIMASK masks everything configurable; BASEPRI masks priorities at or below it.
        assert_eq!(n.next_to_take(Masks { primask: true, ..NONE }), None);
        assert_eq!(n.next_to_take(Masks { basepri: 0xE0, ..NONE }), None);
        assert_eq!(n.next_to_take(Masks { basepri: 0xFF, ..NONE }), None, "0xFF masks as 0xE0");
    }

    #[test]
    fn irqs_need_enable_and_respect_subpriority() {
        let mut n = nvic();
        n.write(STIR, 4, 5);
        assert_eq!(n.next_to_take(NONE), None, "IRQ 5 is not enabled");
        assert_eq!(n.read(NVIC_ISPR, 0), Some(1 << 5));
        n.write(NVIC_ISER, 4, 1 << 5 | 1 << 6);
        assert_eq!(n.next_to_take(NONE), Some(IRQ0 + 5));
        // Byte write of IRQ 6's priority (NVIC->IP[6] = 0x20) and IRQ 5 = 0x40.
        n.write(NVIC_IPR + 6, 1, 0x20);
        n.write(NVIC_IPR + 5, 1, 0x40);
        n.write(NVIC_ISPR, 4, 1 << 6);
        assert_eq!(n.next_to_take(NONE), Some(IRQ0 + 6));
        // PRIGROUP 6: one group bit (bit 7): 0x20 and 0x40 share group 0, so while IRQ 5 is
        // active IRQ 6 cannot preempt it.
        n.write(AIRCR, 4, 0x0000_0504);
        assert!(!n.reset_requested, "no VECTKEY: ignored");
        n.write(AIRCR, 4, 0x05FA_0600);
        assert_eq!(n.read(AIRCR, 0), Some(0xFA05_0600));
        n.write(NVIC_ICPR, 4, 1 << 6);
        n.activate(IRQ0 + 5);
        n.write(NVIC_ISPR, 4, 1 << 6);
        assert_eq!(n.next_to_take(NONE), None);
        assert_eq!(n.read(NVIC_IABR, 0), Some(1 << 5));
        n.write(AIRCR, 4, 0x05FA_0004);
        assert!(n.reset_requested, "VECTKEY | SYSRESETREQ");
    }

    #[test]
    fn faults_escalate_unless_enabled_and_lockup_at_hardfault() {
        let mut n = nvic();
        assert_eq!(n.raise_fault(FaultKind::Usage(cfsr::UNDEFINSTR), NONE), Some(HARDFAULT));
        assert_eq!(n.hfsr, cfsr::HFSR_FORCED);
        n.write(SHCSR, 4, SHCSR_BUSFAULTENA);
        assert_eq!(n.raise_fault(FaultKind::Bus { data: true, addr: Some(0x5000_0000) }, NONE), Some(BUSFAULT));
        assert_eq!(n.bfar, 0x5000_0000);
        assert_eq!(n.cfsr, cfsr::UNDEFINSTR | cfsr::PRECISERR | cfsr::BFARVALID);
        assert_eq!(cfsr::decode(n.cfsr, 0).len(), 3);
        // W1C
        n.write(CFSR, 4, cfsr::UNDEFINSTR);
        assert_eq!(n.cfsr, cfsr::PRECISERR | cfsr::BFARVALID);
        n.activate(HARDFAULT);
        assert_eq!(n.raise_fault(FaultKind::Usage(cfsr::INVSTATE), NONE), None, "lockup");
    }

    #[test]
    fn icsr_reports_and_sets_pending() {
        let mut n = nvic();
        n.write(ICSR, 4, ICSR_PENDSVSET);
        let v = n.read(ICSR, 0).unwrap();
        assert_eq!((v >> 12) & 0x1FF, PENDSV as u32, "VECTPENDING");
        assert_ne!(v & ICSR_PENDSVSET, 0);
        n.write(ICSR, 4, ICSR_PENDSVCLR);
        assert_eq!(n.read(ICSR, 11).unwrap() & (ICSR_PENDSVSET | 0x1FF), 11);
        n.write(VTOR, 4, 0x2000_00FF);
        assert_eq!(n.vtor, 0x2000_0080);
    }
}
