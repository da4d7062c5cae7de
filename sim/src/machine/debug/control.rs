//! Running a debugged machine: building it halted at reset, resuming, halting, ending,
//! and where it stands in modelled time.

use super::halt_hooks::{halt_here, it_block_after, learn_pattern};
use super::it_state::{it_continues, IT_BITS};
use super::*;

impl Debuggee {
    /// Build the machine for `image`, halted at the reset vector.
    pub fn new(image: Image, opts: &RunOptions, link: DebugLink) -> Result<Debuggee, crate::error::SimError> {
        let debug = DebugState {
            breakpoints: FxHashSet::default(),
            watchpoints: Vec::new(),
            patterns: Default::default(),
            step: false,
            skip: None,
            watch_at_skip: true,
            continuation: None,
            break_cycle: None,
            pending: None,
            halt: None,
            walk_request: false,
            walking: false,
            link,
            output: Vec::new(),
            detached: false,
        };
        let Prepared { mut uc, sp, pc, mapped_for_image } = prepare(image, opts, Some(Box::new(debug)))?;
        // Halted at the reset vector (a run without a debugger starts unicorn there).
        uc.reg_write(RegisterARM::PC, pc as u64 | 1).map_err(|e| internal("setting PC", e))?;
        Ok(Debuggee {
            uc,
            sp0: sp,
            pc0: pc,
            mapped_for_image,
            wall: Duration::ZERO,
            leg_started: Instant::now(),
            halted_in: None,
            last_halt: Some(Halt::Reset),
            result: None,
            halted_since: Instant::now(),
        })
    }

    pub(super) fn debug(&mut self) -> &mut DebugState {
        self.uc.get_data_mut().debug.as_deref_mut().expect("a debugged machine has debug state")
    }

    /// The board as mapped (with what a generic board mapped for the image).
    pub fn board(&self) -> &Board {
        &self.uc.get_data().board
    }

    /// Run until the next halt (`step`: after one instruction) or the end of the run.
    pub fn resume(&mut self, step: bool) -> Event {
        if let Some(r) = &self.result {
            return Event::Ended(r.stop.clone());
        }
        let pc = pc_of(&self.uc);
        let halted_in = self.halted_in.take();
        let halted_for = self.halted_since.elapsed();
        let st = self.uc.get_data_mut();
        // Halted time is not run time for --timeout.
        st.deadline = st.deadline.map(|d| d + halted_for);
        let continues = halted_in.is_some_and(|(hpc, _)| hpc == pc);
        if let Some((_, k)) = halted_in.filter(|_| !continues) {
            // The debugger moved the PC: the halted block ran only up to the halt.
            st.settle_block(k);
            st.cur = NO_BLOCK;
        }
        // Inside an IT block (or at its IT instruction, for a step) go one instruction
        // at a time with an exit address: unicorn cannot stop in there.
        let xpsr = self.uc.reg_read(RegisterARM::XPSR).unwrap_or(0);
        let inside_it = continues && xpsr & IT_BITS != 0 && it_continues(xpsr);
        let exit = if continues && (inside_it || (step && self.at_it_instruction(pc))) { self.next_in_block(pc) } else { None };
        self.halted_in = halted_in.filter(|_| continues);
        // Resuming from a watchpoint halt: the instruction it halted before may access the
        // watched bytes (GDB removes the watchpoint to step over it; other clients may not).
        let from_watch = matches!(self.last_halt, Some(Halt::Watch { pc: wpc, .. }) if wpc == pc);
        let d = self.debug();
        d.step = step;
        d.skip = Some(pc);
        d.watch_at_skip = !from_watch;
        d.continuation = continues.then_some(pc);
        d.walking = exit.is_some() && !step;
        self.leg_started = Instant::now();
        let event = self.run_from(pc, exit);
        self.debug().walking = false;
        if self.result.is_none() {
            self.wall += self.leg_started.elapsed();
        }
        self.halted_since = Instant::now();
        event
    }

    /// Whether the instruction at `pc`, in the current block, is an IT instruction.
    fn at_it_instruction(&self, pc: u32) -> bool {
        let st = self.uc.get_data();
        st.blocks.get(st.cur).is_some_and(|b| it_block_after(&self.uc, b, pc).is_some())
    }

    /// The instruction after `pc` in the current block.
    fn next_in_block(&self, pc: u32) -> Option<u32> {
        let st = self.uc.get_data();
        let b = st.blocks.get(st.cur)?;
        let i = b.addrs.binary_search(&pc).ok()?;
        b.addrs.get(i + 1).copied()
    }

    /// Run from `pc` until a halt or the end. With `exit`, run one instruction of the
    /// halted block to the exit address first (a step into or inside an IT block, or a
    /// walk through one: `walking`).
    fn run_from(&mut self, pc: u32, exit: Option<u32>) -> Event {
        let mut resume = pc;
        let mut exit = exit;
        loop {
            if let Some(e) = exit {
                // The halted block's continuation is translated anew, ending at the exit.
                let _ = self.uc.ctl_exits_enable();
                let _ = self.uc.ctl_set_exits(&[e as u64]);
                let _ = self.uc.ctl_remove_cache(resume as u64, e as u64 + 2);
            }
            self.uc.get_data_mut().bad_access = None;
            let result = self.uc.emu_start(resume as u64 | 1, u64::MAX, 0, 0);
            if let Some(e) = exit.take() {
                let _ = self.uc.ctl_set_exits(&[]);
                let _ = self.uc.ctl_exits_disable();
                let _ = self.uc.ctl_remove_cache(resume as u64, e as u64 + 2);
                if self.uc.get_data().stop.is_some() {
                    return self.end(result);
                }
                if result.is_ok() && pc_of(&self.uc) & !1 == e {
                    if let Some(event) = self.at_exit(e) {
                        return event;
                    }
                    resume = e;
                    exit = if self.debug().walking { self.next_in_block(e) } else { None };
                    if exit.is_none() {
                        self.debug().walking = false;
                    }
                    continue;
                }
                self.debug().walking = false;
            }
            if self.uc.get_data().stop.is_some() {
                return self.end(result);
            }
            let halt = self.debug().halt.take();
            if let Some((hpc, why)) = halt {
                if std::mem::take(&mut self.debug().walk_request) {
                    // Halted at an IT instruction to walk its block.
                    self.halted_in = self.locate(hpc);
                    let d = self.debug();
                    d.skip = Some(hpc);
                    d.continuation = Some(hpc);
                    resume = hpc;
                    exit = self.next_in_block(hpc);
                    self.debug().walking = exit.is_some();
                    continue;
                }
                return self.halted(hpc, why);
            }
            if !resume_after(&mut self.uc, &result) {
                return self.end(result);
            }
            resume = pc_of(&self.uc);
        }
    }

    /// Stopped at the exit address `e` inside the halted block: halt there (a step, a
    /// halt asked for inside the IT block, a breakpoint, watchpoint or cycle at `e`), or
    /// None to go on, continuing the block from `e`.
    fn at_exit(&mut self, e: u32) -> Option<Event> {
        self.halted_in = self.locate(e);
        let xpsr = self.uc.reg_read(RegisterARM::XPSR).unwrap_or(0);
        learn_pattern(&mut self.uc, e);
        let here = halt_here(&self.uc, e, xpsr);
        let d = self.debug();
        let asked = d.halt.take().map(|(_, h)| h).or(d.pending.take());
        let why = asked.or(if d.walking { None } else { Some(Halt::Step) }).or(here);
        if let Some(why) = why {
            if matches!(why, Halt::Cycle(_)) {
                d.break_cycle = None;
            }
            d.walking = false;
            return Some(self.halted(e, why));
        }
        // Out of the IT block: the walk ends; the run goes on from `e` as usual.
        if xpsr & IT_BITS == 0 {
            d.walking = false;
        }
        d.skip = Some(e);
        d.continuation = Some(e);
        None
    }

    /// The halt at `pc` and its place in the current block.
    fn locate(&self, pc: u32) -> Option<(u32, usize)> {
        let st = self.uc.get_data();
        st.blocks.get(st.cur).and_then(|b| b.addrs.binary_search(&pc).ok()).map(|k| (pc, k))
    }

    fn halted(&mut self, pc: u32, why: Halt) -> Event {
        self.halted_in = self.locate(pc);
        self.last_halt = Some(why.clone());
        self.debug().flush_output();
        Event::Halted(why)
    }

    /// The run ended: settle it into its result (the registers stay readable).
    fn end(&mut self, result: Result<(), unicorn_engine::unicorn_const::uc_error>) -> Event {
        self.debug().flush_output();
        self.halted_in = None;
        self.wall += self.leg_started.elapsed();
        match finish(&mut self.uc, result, self.sp0, self.pc0, self.wall) {
            Ok(mut run) => {
                run.mapped_for_image = self.mapped_for_image.clone();
                if let Stop::Fault { pc, .. } | Stop::Limit { pc, .. } | Stop::Parked { pc, .. } | Stop::Interrupted { pc, .. } = &run.stop {
                    // Show the debugger the instruction the run stopped at.
                    let _ = self.uc.reg_write(RegisterARM::PC, *pc as u64 | 1);
                }
                let stop = run.stop.clone();
                self.result = Some(run);
                Event::Ended(stop)
            }
            Err(e) => {
                let stop = Stop::Fault { kind: "emulator-error".into(), message: e.to_string(), pc: pc_of(&self.uc) };
                Event::Ended(stop)
            }
        }
    }

    /// End the run here (kill, a client gone) unless it has ended, and give its result.
    pub fn finish(mut self, stop: Stop) -> Result<RunResult, crate::error::SimError> {
        if let Some(r) = self.result.take() {
            return Ok(r);
        }
        let st = self.uc.get_data_mut();
        let at = self.halted_in.map(|(_, k)| (k, false));
        st.set_stop(stop, at);
        let mut run = finish(&mut self.uc, Ok(()), self.sp0, self.pc0, self.wall)?;
        run.mapped_for_image = self.mapped_for_image.clone();
        Ok(run)
    }

    /// The result the run would have if it ended here (`monitor report`); the run goes on.
    pub fn snapshot(&mut self) -> Result<RunResult, crate::error::SimError> {
        if let Some(r) = &self.result {
            return Ok(r.clone());
        }
        let pc = pc_of(&self.uc);
        let at = self.halted_in.map(|(_, k)| (k, false));
        let st = self.uc.get_data_mut();
        let saved = (
            st.cycles,
            st.instructions,
            st.markers.clone(),
            st.output.clone(),
            st.settings.clone(),
            st.profiler.clone(),
            st.regions.clone(),
            st.exc.delivered_fault.clone(),
        );
        let host = st.semihost.take();
        st.stop = Some(Stop::Interrupted { signal: 5, message: format!("halted in the debugger at {}: the report so far", st.describe(pc)), pc });
        st.stop_at = at;
        let run = finish(&mut self.uc, Ok(()), self.sp0, self.pc0, self.wall);
        let st = self.uc.get_data_mut();
        (st.cycles, st.instructions, st.markers, st.output, st.settings, st.profiler, st.regions, st.exc.delivered_fault) = saved;
        st.stop = None;
        st.stop_at = None;
        let notes = host.as_ref().map(|h| h.notes()).unwrap_or_default();
        st.semihost = host;
        let mut run = run?;
        run.semihosting_notes = notes;
        run.mapped_for_image = self.mapped_for_image.clone();
        Ok(run)
    }

    /// The PC and the modelled cycle and instruction counts where the target stands: the
    /// instructions executed so far and the cycles they took.
    pub fn position(&self) -> Position {
        let pc = pc_of(&self.uc) & !1;
        if let Some(r) = &self.result {
            return Position { pc, cycles: r.cycles, instructions: r.instructions };
        }
        let st = self.uc.get_data();
        match (self.halted_in, st.blocks.get(st.cur)) {
            (Some((_, k)), Some(b)) => Position {
                pc,
                cycles: (st.block_entry + b.offsets[k] as u64).saturating_add_signed(st.dyn_in_block),
                instructions: st.insns_before_block + k as u64,
            },
            _ => Position { pc, cycles: st.cycles, instructions: st.instructions },
        }
    }

    /// The run's result once it has ended.
    pub fn result(&self) -> Option<&RunResult> {
        self.result.as_ref()
    }
}
