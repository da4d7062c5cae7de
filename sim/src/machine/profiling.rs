//! What the call profiler learns from decoded blocks: how a block hands over control,
//! and which function starts where.

use super::*;

/// How a block's last instruction hands over control, for the call profiler.
pub(super) fn exit_of(last: &Insn) -> Exit {
    use simbench_cores::insn::{REG_LR, REG_SP};
    let m = last.mnemonic.as_str();
    if m.starts_with("bl") && !m.starts_with("bls") && !m.starts_with("ble") && !m.starts_with("blt") && !m.starts_with("blo") {
        return Exit::Call { indirect: last.class == Class::BranchReg };
    }
    match last.class {
        Class::BranchReg if last.reads.contains(REG_LR) => Exit::Return,
        Class::BranchReg | Class::Branch => Exit::Jump,
        Class::BranchCond | Class::CompareBranch | Class::TableBranch => Exit::Plain,
        Class::LoadMultiple | Class::Load if last.writes_pc => {
            if last.mem.is_some_and(|m| m.base == REG_SP) || last.class == Class::LoadMultiple {
                Exit::Return
            } else {
                Exit::Jump
            }
        }
        _ if last.writes_pc => Exit::Return,
        _ => Exit::Plain,
    }
}

/// The function starting at `addr`: its symbol's name and role, or its address when no
/// symbol starts there.
pub(super) fn func_info_at(image: &Image, addr: u32) -> FuncInfo {
    image
        .function_starting_at(addr)
        .map_or_else(|| FuncInfo { name: format!("{addr:#010x}"), role: FuncRole::default(), anonymous: true }, |s| func_info(&s.name))
}

/// Display name and role of a function symbol.
pub(super) fn func_info(raw: &str) -> FuncInfo {
    let name = demangle(raw);
    let role = role_of(raw, &name);
    FuncInfo { name, role, anonymous: false }
}
