//! What the firmware configures changes the model: vendor register settings (clocks, wait
//! states, accelerator and cache enables, FlexRAM banks) and the MPU's page protections.

use super::*;

/// A vendor register changed the clock, a latency or an enable: update the memory model
/// (and the cached fetch costs of blocks in the affected region) and record it.
pub(super) fn apply_setting(st: &mut State, addr: u32, setting: Setting, now: u64) {
    let region_index = |st: &State, name: &str| st.board.regions.iter().position(|r| r.name == name);
    let mut clock_mhz = None;
    let text = match setting {
        Setting::FlashWaitStates { region, wait_states, preset_wait_states } => {
            let Some(ri) = region_index(st, &region) else {
                return;
            };
            let preset = &st.preset_regions[ri];
            // read_wait moves by the field's change from its reset value: the same as the
            // field itself when the preset matches its register, and it keeps a ranged
            // read_wait's low or high offset (`cores::ranges`) in re-timing runs.
            let read_wait = (preset.read_wait + wait_states).saturating_sub(preset_wait_states);
            // The line fill scales with the flash access time (WS + 1 cycles).
            let fill = (preset.line_fill_cycles as u64 * (read_wait as u64 + 1)).div_ceil(preset.read_wait as u64 + 1) as u32;
            let what = format!("{region} wait states {wait_states} (preset {preset_wait_states})");
            set_region_latency(st, ri, read_wait, fill);
            what
        }
        Setting::XipClockDivider { region, divider, preset_divider } => {
            let Some(ri) = region_index(st, &region) else {
                return;
            };
            let preset = &st.preset_regions[ri];
            let scale = |c: u32| (c as u64 * divider as u64).div_ceil(preset_divider.max(1) as u64) as u32;
            let (read_wait, fill) = (scale(preset.read_wait), scale(preset.line_fill_cycles));
            set_region_latency(st, ri, read_wait, fill);
            format!("{region} serial clock divider {divider} (preset {preset_divider}): uncached read {read_wait} cycles")
        }
        Setting::AcceleratorEnabled(part, on) => {
            st.mem.set_accelerator_part(part, on);
            format!("{} {}", part.name(), if on { "on" } else { "off" })
        }
        Setting::CacheEnabled(on) => {
            st.mem.set_soc_cache_enabled(on);
            format!("cache {}", if on { "on" } else { "off" })
        }
        Setting::CoreClockDivider { divider, preset_divider } => {
            let mhz = st.board.clock_mhz * preset_divider as f64 / divider as f64;
            clock_mhz = Some(mhz);
            format!("core clock divider {divider} (preset {preset_divider}): {mhz} MHz")
        }
        Setting::FlexramBanks { sizes } => {
            for (name, kib) in &sizes {
                if let Some(ri) = region_index(st, name) {
                    st.region_limits[ri] = Some(kib * 1024);
                }
            }
            st.protections_changed();
            let [(_, i), (_, d), (_, o)] = &sizes;
            format!("FlexRAM ITCM {i} KiB, DTCM {d} KiB, OCRAM {o} KiB")
        }
    };
    st.sync_access_fold();
    let register = st.periph.register_name(addr).unwrap_or("?").to_string();
    st.settings.push(ConfigChange { register, setting: text, cycle: now, clock_mhz });
}

/// A region's latency changed: the board (plain fetch costs), the memory model, and the
/// fetch costs already cached in the region's blocks follow.
pub(super) fn set_region_latency(st: &mut State, ri: usize, read_wait: u32, line_fill_cycles: u32) {
    let r = &mut st.board.regions[ri];
    r.read_wait = read_wait;
    r.line_fill_cycles = line_fill_cycles;
    st.mem.set_region_timing(ri, read_wait, r.fill_cycles());
    let r = &st.board.regions[ri];
    for b in st.hot.iter_mut().filter(|b| b.region as usize == ri) {
        b.plain_fetch_wait = r.fetch_wait(b.start, b.end);
    }
}

/// Apply the MPU and the usable memory (FlexRAM banks) to unicorn's page protections
/// (1 KiB pages: an MPU boundary inside a page is rounded inwards, so a region smaller
/// than a page changes nothing). Accesses they forbid then fail as protection faults,
/// which become MemManage faults (MPU) or bus faults (unassigned memory).
pub(super) fn apply_protections(uc: &mut Unicorn<State>) {
    // Accesses folded under the data paths before the change are timed under them.
    uc.get_data_mut().settle_access_log(false);
    let (mpu, regions, limits) = {
        let st = uc.get_data_mut();
        st.protections_dirty = false;
        (st.ppb.scs.mpu.clone(), st.board.regions.clone(), st.region_limits.clone())
    };
    let page = simbench_cores::board::PAGE as u64;
    // Memory attributes that change timing: non-cacheable ranges bypass the data cache.
    let uncached: Vec<(u32, u64)> = if mpu.enabled() {
        regions
            .iter()
            .filter(|r| r.kind.is_memory() && r.cacheable)
            .flat_map(|r| mpu.intervals(r.base as u64, r.end()))
            .filter(|(_, _, d)| d.is_some_and(|a| !a.cacheable))
            .map(|(s, e, _)| (s as u32, e))
            .collect()
    } else {
        Vec::new()
    };
    let st = uc.get_data_mut();
    st.mem.set_uncached_ranges(uncached);
    st.sync_access_fold();
    for (r, limit) in regions.iter().zip(&limits).filter(|(r, _)| r.kind.is_memory()) {
        let default = if r.kind.writable() { Prot::ALL } else { Prot::READ | Prot::EXEC };
        // Memory the firmware left unassigned (FlexRAM banks) is not there at all.
        let usable = limit.map_or(r.size, |l| l.min(r.size)) as u64 / page * page;
        if usable < r.size as u64 {
            let _ = uc.mem_protect(r.base as u64 + usable, r.size as u64 - usable, Prot::NONE);
        }
        if usable == 0 {
            continue;
        }
        if !mpu.enabled() {
            let _ = uc.mem_protect(r.base as u64, usable, default);
            continue;
        }
        for (start, end, decision) in mpu.intervals(r.base as u64, r.base as u64 + usable) {
            let prot = match decision {
                Some(a) => {
                    let mut p = Prot::NONE;
                    if a.read {
                        p |= Prot::READ;
                    }
                    if a.write && r.kind.writable() {
                        p |= Prot::WRITE;
                    }
                    if a.execute {
                        p |= Prot::EXEC;
                    }
                    p
                }
                None if mpu.background() => default,
                None => Prot::NONE,
            };
            let (s, e) = (start.div_ceil(page) * page, end / page * page);
            if e > s {
                let _ = uc.mem_protect(s, e - s, prot);
            }
        }
    }
}
