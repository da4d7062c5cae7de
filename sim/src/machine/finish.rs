//! From unicorn's return and the state to the run's result: the stop, a fault the
//! firmware's handler took, the settled last block, counters.

use super::*;

/// Turn unicorn's return and the state into the run's result.
pub(super) fn finish(
    uc: &mut Unicorn<State>,
    result: Result<(), unicorn_engine::unicorn_const::uc_error>,
    sp0: u32,
    pc0: u32,
    wall: Duration,
) -> Result<RunResult, crate::error::SimError> {
    let pc = pc_of(uc);
    let sp = uc.reg_read(RegisterARM::SP).unwrap_or(0) as u32;
    let memory_probe = probe_memory(uc);
    let st = uc.get_data_mut();
    if st.stop.is_none() {
        stop_unexpected(st, result, pc, sp, sp0);
    }
    let fault_context = report_delivered_fault(st);
    // Settle the partially executed last block.
    if let Some((i, completed)) = st.stop_at {
        st.settle_block(i + completed as usize);
    }
    let instruction_mix = count_executions(st);
    Ok(RunResult {
        stop: st.stop.clone().expect("stop set above"),
        cycles: st.cycles,
        instructions: st.instructions,
        regions: st.regions.clone(),
        instruction_mix,
        markers: std::mem::take(&mut st.markers),
        markers_dropped: st.markers_dropped,
        output: std::mem::take(&mut st.output),
        output_truncated: st.output_truncated,
        semihosting_notes: st.semihost.as_mut().map(|h| h.take_notes()).unwrap_or_default(),
        unmodelled_registers: st
            .ppb
            .unmodelled
            .iter()
            .chain(&st.periph.unmodelled)
            .map(|(a, (r, w))| (*a, *r, *w))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        blocks_decoded: st.blocks_decoded,
        block_entries_replayed: st.block_entries_replayed,
        data_accesses_logged: st.data_accesses_logged,
        data_accesses_folded: st.data_accesses_folded,
        icache: st.mem.icache_stats(),
        dcache: st.mem.dcache_stats(),
        branch_predictor: st.predictor.as_ref().map(|p| (p.lookups, p.mispredictions)),
        divides_timed: st.divides_timed,
        memory_probe,
        placed: st.placed.clone(),
        stalls: st.stalls.take().map(|mut s| {
            s.flush(st.cycles);
            *s
        }),
        error: fault_context.or_else(|| {
            let mut info = match st.stop.as_ref() {
                Some(Stop::Fault { kind, pc, .. }) => st.error_info(kind, *pc),
                Some(Stop::Limit { pc, .. }) => st.error_info("limit", *pc),
                Some(Stop::Parked { pc, .. }) => st.error_info("parked", *pc),
                Some(Stop::Interrupted { pc, .. }) => st.error_info("interrupted", *pc),
                _ => return None,
            };
            if st.ppb.nvic.cfsr | st.ppb.nvic.hfsr != 0 {
                info.fault_status = exceptions::fault_status(st);
            }
            Some(info)
        }),
        configuration: std::mem::take(&mut st.settings),
        exceptions: ExceptionCounts {
            taken: st.exc.taken.iter().map(|(&n, &c)| (n, c)).collect(),
            tail_chains: st.exc.tail_chains,
            lazy_fp_saves: st.exc.lazy_fp_saves,
        },
        profiler: {
            let end = st.cycles;
            st.profiler.take().map(|mut p| {
                p.finish(end);
                p
            })
        },
        board: Board { regions: st.preset_regions.clone(), ..st.board.clone() },
        mapped_for_image: Vec::new(),
        initial_sp: sp0,
        initial_pc: pc0,
        wall,
    })
}

/// unicorn stopped with no simbench stop set: an invalid access, an undefined
/// instruction or an emulator error becomes the run's fault.
fn stop_unexpected(st: &mut State, result: Result<(), unicorn_engine::unicorn_const::uc_error>, pc: u32, sp: u32, sp0: u32) {
    let pc = if st.bad_access.is_some() && result.is_err() { st.bad_access_pc } else { pc };
    let at = st.blocks.get(st.cur).map(|b| (b.index_of(pc), false));
    let (kind, what) = match (result, st.bad_access) {
        (Err(_), Some((kind, addr, size))) => describe_bad_access(st, kind, addr, size, pc),
        (Err(unicorn_engine::unicorn_const::uc_error::INSN_INVALID), None) => ("undefined-instruction", undefined_instruction(st, pc)),
        (Err(e), None) => ("emulator-error", format!("the emulator stopped with {e:?} at {}", st.describe(pc))),
        (Ok(()), _) => ("stopped", format!("execution stopped unexpectedly at {}", st.describe(pc))),
    };
    let mut message = format!("firmware fault: {what}");
    let sp_in_ram = st.board.stack_region(sp).is_some();
    if !sp_in_ram {
        message.push_str(&format!(". SP = {sp:#010x} is outside RAM: probably a stack overflow (initial SP was {sp0:#010x})"));
    }
    let kind = if !sp_in_ram { "stack-overflow" } else { kind };
    st.set_stop(Stop::Fault { kind: kind.into(), message, pc }, at);
}

/// A fault the firmware's handler took, followed by anything but a clean exit, is what
/// the run reports; returns the context captured when it happened.
fn report_delivered_fault(st: &mut State) -> Option<simbench_profiles::report::ErrorInfo> {
    if let Some((kind, message, fault_pc, info)) = st.exc.delivered_fault.take() {
        let then = match &st.stop {
            Some(Stop::Exit(0)) => None,
            Some(Stop::Exit(code)) => Some(format!("the handler then ended the run with exit status {code}")),
            Some(other) => Some(format!("then: {}", other.message().unwrap_or_default())),
            None => Some(String::new()),
        };
        if let Some(then) = then {
            let status = info.fault_status.join("; ");
            st.stop =
                Some(Stop::Fault { kind, message: format!("{message}. It was delivered to the firmware's fault handler ({status}); {then}"), pc: fault_pc });
            return Some(info);
        }
    }
    None
}

/// Instruction mix and per-region fetch counts from block execution counts.
fn count_executions(st: &mut State) -> Vec<(Class, u64)> {
    // Instruction mix and fetch counts from block execution counts. The last block is
    // counted whole (its partial tail is at most one block's worth of instructions).
    let mut mix: FxHashMap<Class, u64> = FxHashMap::default();
    for (b, hot) in st.blocks.iter().zip(&st.hot) {
        if hot.executions == 0 {
            continue;
        }
        for &(c, n) in b.classes.iter() {
            *mix.entry(c).or_default() += n as u64 * hot.executions;
        }
        if let Some(r) = st.regions.get_mut(hot.region as usize) {
            r.instructions_fetched += hot.insns as u64 * hot.executions;
        }
    }
    let mut instruction_mix: Vec<(Class, u64)> = mix.into_iter().collect();
    instruction_mix.sort_by_key(|(c, _)| c.name());
    instruction_mix
}
