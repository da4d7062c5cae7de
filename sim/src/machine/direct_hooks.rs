//! The block hook and the data hooks as plain `extern "C"` callbacks. They run on every
//! block entry and every hooked load or store; the binding's proxies
//! (`unicorn_engine::hook::block_hook_proxy`, `mem_hook_proxy`) first upgrade a `Weak`
//! to the engine and drop it again, which was 12 % of a `fast` run of the M4 dot product
//! (perf, docs/speed.md section (h)). Here the callback's user data points at a handle
//! to the engine that lives in `State` for as long as the engine does.

use super::*;
use std::ffi::c_void;
use std::mem::ManuallyDrop;
use unicorn_engine::{uc_engine, uc_error, uc_hook, uc_hook_add};

/// A second handle to the engine, for callbacks: a bitwise copy of the caller's
/// `Unicorn` (one `Rc` pointer) that is never dropped, so it neither keeps the engine
/// alive nor frees it. It lives in `State`, inside the engine, so it exists exactly as
/// long as the hooks that point at it.
pub(super) struct HookTarget {
    uc: ManuallyDrop<Unicorn<'static, State>>,
    /// The region a data hook times (unused by the block hook).
    region: usize,
}

/// Add `callback` as a hook of kind `kind` over `[begin, end]`, its user data a new
/// `HookTarget` kept in `State::hook_targets`.
fn add(uc: &mut Unicorn<'static, State>, kind: HookType, callback: *mut c_void, region: usize, begin: u64, end: u64) -> Result<(), uc_error> {
    // SAFETY: a bitwise copy of the handle (see `HookTarget`); ManuallyDrop keeps its
    // reference count untouched.
    let copy = unsafe { std::ptr::read(uc as *const Unicorn<'static, State>) };
    let mut target = Box::new(HookTarget { uc: ManuallyDrop::new(copy), region });
    let user: *mut HookTarget = &mut *target;
    uc.get_data_mut().hook_targets.push(target);
    let mut handle: uc_hook = 0;
    // SAFETY: a live engine; `callback` has the C signature unicorn calls for `kind`, and
    // `user` stays valid while the engine exists (the box is owned by its State).
    let err = unsafe { uc_hook_add(uc.get_handle(), &mut handle, kind.0 as i32, callback, user.cast(), begin, end) };
    if err == uc_error::OK {
        Ok(())
    } else {
        Err(err)
    }
}

/// The block hook over all code: `on_block` on every block entry.
pub(super) fn add_block_hook(uc: &mut Unicorn<'static, State>) -> Result<(), uc_error> {
    add(uc, HookType::BLOCK, block_entered as *mut c_void, usize::MAX, 1, 0)
}

/// The data hook over `[begin, end]` of region `region` (see `data_access`).
pub(super) fn add_data_hook(uc: &mut Unicorn<'static, State>, region: usize, begin: u64, end: u64) -> Result<(), uc_error> {
    add(uc, HookType::MEM_READ | HookType::MEM_WRITE, data_accessed as *mut c_void, region, begin, end)
}

unsafe extern "C" fn block_entered(_uc: *mut uc_engine, addr: u64, size: u32, user: *mut c_void) {
    // SAFETY: `user` is the HookTarget `add` registered, alive as long as the engine.
    let target = unsafe { &mut *user.cast::<HookTarget>() };
    target.uc.get_data_mut().catch_up(Some(addr as u32));
    on_block(&mut target.uc, addr as u32, size);
}

unsafe extern "C" fn data_accessed(_uc: *mut uc_engine, kind: MemType, addr: u64, _size: i32, _value: i64, user: *mut c_void) {
    // SAFETY: as for `block_entered`.
    let target = unsafe { &mut *user.cast::<HookTarget>() };
    target.uc.get_data_mut().catch_up(None);
    data_access(&mut target.uc, target.region, kind == MemType::WRITE, addr as u32);
}
