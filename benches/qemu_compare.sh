#!/usr/bin/env bash
# benches/qemu_compare.sh - simbench's simulation speed as a ratio of QEMU's, same firmware.
#
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Usage (repository root, after `cargo build --release`; needs Debian's qemu-system-arm):
#   benches/qemu_compare.sh [REPEATS]
#
# Runs fixtures/micro/qemu_dot_<core>.elf (the int8 dot kernel 100,000 times, ~513 M
# instructions, semihosting exit) under `qemu-system-arm -M mps2-an386|an500|an505` and
# under simbench in `--timing fast` and `detailed` (no profiler, then with it), and prints
# MIPS for each and simbench/QEMU. QEMU's process start-up (measured on a firmware that
# exits at once) is subtracted from its times; simbench's time is the simulation's own
# wall time from the report (`host.wall_seconds`). Instruction counts come from simbench.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPEATS="${1:-3}"
SIMBENCH="${SIMBENCH:-target/release/simbench}"
command -v qemu-system-arm >/dev/null || { echo "qemu_compare: qemu-system-arm not found (apt-get install qemu-system-arm)" >&2; exit 1; }
[[ -x "$SIMBENCH" ]] || { echo "qemu_compare: $SIMBENCH not built (cargo build --release)" >&2; exit 1; }

qemu_secs() { # machine elf -> median seconds of REPEATS runs
    local m="$1" elf="$2" i t=()
    for ((i = 0; i < REPEATS; i++)); do
        local s e
        s=$(date +%s.%N)
        qemu-system-arm -M "$m" -kernel "$elf" -semihosting-config enable=on,target=native \
            -nographic -monitor none -serial null >/dev/null 2>&1
        e=$(date +%s.%N)
        t+=("$(echo "$e - $s" | bc -l)")
    done
    printf '%s\n' "${t[@]}" | sort -g | sed -n "$(( (REPEATS + 1) / 2 ))p"
}

sim() { # elf board-args... -> "instructions seconds" (median seconds)
    local elf="$1"; shift
    local i out=() insns=0
    for ((i = 0; i < REPEATS; i++)); do
        read -r insns secs < <("$SIMBENCH" "$elf" "$@" --format json --quiet |
            python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["instructions"], r["host"]["wall_seconds"])')
        out+=("$secs")
    done
    echo "$insns $(printf '%s\n' "${out[@]}" | sort -g | sed -n "$(( (REPEATS + 1) / 2 ))p")"
}

startup=$(qemu_secs mps2-an386 fixtures/micro/exit_plain_m4.elf)
printf 'QEMU %s, start-up %.3f s subtracted; %s repeats, medians\n\n' \
    "$(qemu-system-arm --version | head -1 | awk '{print $4}')" "$startup" "$REPEATS"
printf '%-8s %-12s %10s %10s %12s %12s %12s %12s\n' core machine 'insns(M)' qemu-MIPS fast-MIPS detailed-MIPS +profile-MIPS fast/qemu
for row in "m4 mps2-an386 --core m4" "m7 mps2-an500 --core m7" "m33 mps2-an505 --board benches/boards/mps2-an505.toml"; do
    read -r core machine bargs <<<"$row"
    elf="fixtures/micro/qemu_dot_${core}.elf"
    q=$(qemu_secs "$machine" "$elf")
    read -r insns fast < <(sim "$elf" $bargs --timing fast --profile off)
    read -r _ det < <(sim "$elf" $bargs --timing detailed --profile off)
    read -r _ prof < <(sim "$elf" $bargs --timing detailed --profile auto)
    python3 - "$core" "$machine" "$insns" "$q" "$startup" "$fast" "$det" "$prof" <<'PY'
import sys
core, machine, insns, q, start, fast, det, prof = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
qs = max(q - start, 1e-6)
mips = lambda s: insns / s / 1e6
print(f"{core:<8} {machine:<12} {insns/1e6:10.1f} {mips(qs):10.0f} {mips(fast):12.0f} {mips(det):12.0f} {mips(prof):12.0f} {qs/fast*100:11.0f}%")
PY
done
