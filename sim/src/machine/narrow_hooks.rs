//! Page-granular memory hooks, from `patches/unicorn-*-narrow-mem-hooks.patch`
//! (`scripts/build-unicorn`). Stock unicorn 2.1.5 sends every load and store through its
//! slow path once any memory hook exists, and rebuilds the CPU state from the translation
//! block before each hooked access; with `UC_CTL_NARROW_MEM_HOOKS` on, only pages a memory
//! hook covers leave the TLB fast path and the hooks run without that rebuild (simbench's
//! data hook reads no register but XPSR's IT bits; see docs/speed.md). The control also
//! drops the stop-request check unicorn generates after every load and store (simbench's
//! memory and MMIO callbacks never stop the run; a failed access still stops at once),
//! calls the one at each block start only when a stop was requested, and lets hooked
//! accesses take their region from the TLB entry instead of a lookup. Stores to a RAM page
//! stay on the fast path while the page holds no translated code (stock unicorn traps
//! every store to an executable page, or to any page once a memory hook of any kind
//! exists, as simbench's invalid-access hook does); translating code from a page traps its
//! stores again, so rewritten code is still re-translated. A stock unicorn refuses the
//! control, and the run takes the stock path with the same report.

use unicorn_engine::{uc_ctl, uc_error, Arch, ControlType, Mode, Unicorn};

/// The control the patch appends to `uc_control_type`, after `UC_CTL_CONTEXT_MODE` (14).
const UC_CTL_NARROW_MEM_HOOKS: u32 = 15;

/// Turn the narrow path on, before any hook is added or code runs; false when the linked
/// unicorn lacks the patch. (Also for the speed bench's raw unicorn with the same control.)
pub fn enable<D>(uc: &mut Unicorn<D>) -> bool {
    let control = ControlType(UC_CTL_NARROW_MEM_HOOKS | ControlType::IO_WRITE.0);
    // SAFETY: a live engine handle; the control takes one int argument.
    unsafe { uc_ctl(uc.get_handle(), control, 1 as std::ffi::c_int) == uc_error::OK }
}

/// Whether the unicorn simbench is linked with has the narrow path (the speed bench says;
/// a test insists on it, so that a build that silently fell back to stock unicorn fails).
pub fn supported() -> bool {
    Unicorn::new(Arch::ARM, Mode::THUMB).is_ok_and(|mut uc| enable(&mut uc))
}
