#!/usr/bin/env python3
"""report.py - turn the validation runs' simbench JSON reports into Markdown tables.

    report.py coremark DIR --iterations N
    report.py tflm DIR            (tflm_kws.sh / tflm_current.sh runs)
    report.py glow DIR
    report.py combined OUTDIR     (the error table of run_all.sh)

Each run is DIR/NAME.BOARD.TIMING.json (+ .log, .rc) as written by lib/common.sh run_sim.
Silicon figures: CM_SILICON and KWS_SILICON below, each with its source (also in the README's accuracy table).
"""
import argparse
import glob
import json
import os
import re
import sys

CM_SRC_MASM = "Masmiseim36/Coremark_iMXRT readme"
# CoreMark/MHz with GCC -O2, code and data in TCM.
CM_SILICON = {
    "m4": [(2.525, "i.MX RT1160 CM4 @240 MHz, GCC 12.2 -O2, TCM", CM_SRC_MASM)],
    "m33": [(2.713, "i.MX RT1180 CM33 @240 MHz, GCC 12.3 -O2, TCM", CM_SRC_MASM),
            (2.856, "i.MX RT1180 CM33, GCC 13.2 -O2, TCM", CM_SRC_MASM)],
    "m7": [(4.048, "i.MX RT1011 @500 MHz, GCC 12.2 -O2, TCM", CM_SRC_MASM),
           (4.000, "Teensy 4.0 (RT1062 @600 MHz), GCC -O2", "FrankBoesing/CoreMark readme")],
}
KWS_SRC = "sbranover/kws-bm results/results.csv (the seed)"
# Invoke cycles (Mcycles) of the seed's TFLM + CMSIS-NN KWS firmware.
KWS_SILICON = {
    ("lpc55s69", "O0", "flash"): 291.3,
    ("lpc55s69", "O3", "flash"): 37.7,
    ("lpc55s69", "O3", "ram"): 34.0,
    ("mimxrt1011", "O0", "flash"): 131.2,
    ("mimxrt1011", "O3", "flash"): 41.1,
    ("mimxrt1011", "O3", "ram"): 40.7,
}
# NXP eIQ Glow KWS (a different program from stock Glow: routes operators to CMSIS-NN).
GLOW_SILICON = {("lpc55s69", "flash"): 101.8, ("lpc55s69", "ram"): 91.8,
                ("mimxrt1011", "flash"): 28.0, ("mimxrt1011", "ram"): 27.7}


def load_runs(d):
    runs = []
    for path in sorted(glob.glob(os.path.join(d, "*.json"))):
        base = os.path.basename(path)[:-5]
        parts = base.split(".")
        if len(parts) < 3:
            continue
        name, board, timing = ".".join(parts[:-2]), parts[-2], parts[-1]
        rc_path = path[:-5] + ".rc"
        rc = int(open(rc_path).read().strip()) if os.path.exists(rc_path) else None
        try:
            rep = json.load(open(path))
        except (OSError, ValueError):
            rep = None
        log = open(path[:-5] + ".log").read() if os.path.exists(path[:-5] + ".log") else ""
        runs.append(dict(name=name, board=board, timing=timing, rc=rc, rep=rep, log=log))
    # also runs whose JSON was never written (simbench failed before the report)
    for rc_path in sorted(glob.glob(os.path.join(d, "*.rc"))):
        base = os.path.basename(rc_path)[:-3]
        if not os.path.exists(rc_path[:-3] + ".json"):
            parts = base.split(".")
            log = open(rc_path[:-3] + ".log").read() if os.path.exists(rc_path[:-3] + ".log") else ""
            runs.append(dict(name=".".join(parts[:-2]), board=parts[-2], timing=parts[-1],
                             rc=int(open(rc_path).read().strip()), rep=None, log=log))
    return runs


def fw_out(run):
    return (run["rep"] or {}).get("firmware_output") or run["log"]


def field(text, key):
    m = re.search(r"^\s*" + re.escape(key) + r"\s*[:=]\s*(\S+)", text, re.M)
    return m.group(1) if m else None


def pct(sim, ref):
    return 100.0 * (sim - ref) / ref


def fmt_pct(x):
    return f"{x:+.1f} %"


def failure(run):
    rep = run["rep"]
    if rep and rep.get("error"):
        return str(rep["error"])
    if rep and rep.get("outcome", {}).get("kind") not in (None, "exited"):
        o = rep["outcome"]
        return f"{o.get('kind')}: {o.get('message')}"
    lines = [l for l in run["log"].splitlines() if l.strip()]
    return lines[-1] if lines else f"exit {run['rc']}"


def core_of(run):
    rep = run["rep"] or {}
    c = (rep.get("board") or {}).get("core", "")
    return {"Cortex-M4": "m4", "Cortex-M33": "m33", "Cortex-M7": "m7"}.get(c, c)


# ---------------------------------------------------------------- CoreMark
CM_CRCS = {"seedcrc": "0xe9f5", "[0]crclist": "0xe714", "[0]crcmatrix": "0x1fd7", "[0]crcstate": "0x8e3a"}


def coremark_rows(d, iterations):
    rows = []
    for r in load_runs(d):
        out = fw_out(r)
        dwt = field(out, "DWT cycles")
        crc_ok = all((field(out, k) or "").lower() == v for k, v in CM_CRCS.items())
        bad = [f"{k} {field(out, k)}" for k, v in CM_CRCS.items() if (field(out, k) or "").lower() != v]
        its = int(field(out, "Iterations") or iterations)
        cmmhz = its * 1e6 / int(dwt) if dwt else None
        rows.append(dict(run=r, dwt=int(dwt) if dwt else None, cmmhz=cmmhz, crc_ok=crc_ok, bad=bad,
                         core=core_of(r), iterations=its))
    return rows


CM_ORDER = ["cm-m4", "cm-m33", "cm-m7", "cm-lpc55s69-sramx", "cm-lpc55s69-flash"]


def timing_order(t):
    return {"detailed": 0, "fast": 1}.get(t, 2)


def coremark(args):
    rows = coremark_rows(args.dir, args.iterations)
    rows.sort(key=lambda x: (CM_ORDER.index(x["run"]["name"]) if x["run"]["name"] in CM_ORDER else 99,
                             x["run"]["name"], timing_order(x["run"]["timing"])))
    print(f"### CoreMark/MHz (eembc/coremark, GCC 12.2 -O2, performance run, seeds 0,0,0x66, {args.iterations} iterations, DWT CYCCNT)\n")
    print("| firmware | board | mode | DWT cycles | CoreMark/MHz | silicon (GCC -O2) | error | CRCs | instr | CPI |")
    print("|---|---|---|---:|---:|---|---:|---|---:|---:|")
    for x in rows:
        r = x["run"]
        if x["cmmhz"] is None:
            print(f"| {r['name']} | {r['board']} | {r['timing']} | FAILED: {failure(r)} | | | | | | |")
            continue
        refs = CM_SILICON.get(x["core"], [])
        sil = " / ".join(f"{v:.3f}" for v, _, _ in refs)
        err = " / ".join(fmt_pct(pct(x["cmmhz"], v)) for v, _, _ in refs)
        if r["board"].startswith("lpc55s69"):
            sil, err = "(no published figure)", ""
        rep = r["rep"] or {}
        print(f"| {r['name']} | {r['board']} | {r['timing']} | {x['dwt']:,} | {x['cmmhz']:.3f} | {sil} | {err} | "
              f"{'ok' if x['crc_ok'] else 'BAD ' + ', '.join(x['bad'])} | {rep.get('instructions', 0):,} | {rep.get('cpi', 0):.3f} |")
    print()
    lpc = {(x["run"]["name"], x["run"]["timing"]): x for x in rows if x["run"]["board"] == "lpc55s69" and x["cmmhz"]}
    for t in ("detailed", "fast"):
        f, s = lpc.get(("cm-lpc55s69-flash", t)), lpc.get(("cm-lpc55s69-sramx", t))
        if f and s:
            print(f"LPC55S69 ({t}): flash {f['cmmhz']:.3f} vs SRAMX {s['cmmhz']:.3f} CoreMark/MHz, "
                  f"flash is {s['cmmhz'] / f['cmmhz']:.2f}x slower.  ")
    print("\nSilicon figures: " + "; ".join(
        f"{c.upper()} {v:.3f} = {what} ({src})" for c, refs in CM_SILICON.items() for v, what, src in refs) + ".")


# ---------------------------------------------------------------- TFLM KWS
def tflm_rows(d):
    rows = []
    for r in load_runs(d):
        out = fw_out(r)
        inv = field(out, "invoke_cycles")
        top = field(out, "top_class")
        m = re.match(r"kws-(?P<engine>[a-z0-9]+)-(?P<kern>cmsisnnO3|cmsisnodsp|cmsis|ref)-(?P<opt>O\d)-(?P<mem>flash|ram)", r["name"])
        rows.append(dict(run=r, invoke=int(inv) if inv else None, top=top, meta=m.groupdict() if m else {}))
    return rows


def tflm(args):
    rows = tflm_rows(args.dir)
    kern_order = {"cmsis": 0, "cmsisnnO3": 1, "cmsisnodsp": 2, "ref": 3}
    rows.sort(key=lambda x: (x["run"]["board"], kern_order.get(x["meta"].get("kern"), 9), x["meta"].get("opt", ""),
                             x["meta"].get("mem", ""), timing_order(x["run"]["timing"])))
    print("### KWS (MLPerf Tiny kws_ref_model, int8) on TFLite Micro: DWT cycles around Invoke()\n")
    print("| firmware | board | mode | kernels | opt | model | Invoke (Mcycles) | silicon (Mcycles) | error | top class | instr (M, whole run) |")
    print("|---|---|---|---|---|---|---:|---:|---:|---|---:|")
    for x in rows:
        r, m = x["run"], x["meta"]
        if x["invoke"] is None:
            print(f"| {r['name']} | {r['board']} | {r['timing']} | {m.get('kern','')} | {m.get('opt','')} | {m.get('mem','')} | FAILED: {failure(r)} | | | | |")
            continue
        ref = KWS_SILICON.get((r["board"], m.get("opt"), m.get("mem"))) if m.get("kern") == "cmsis" and m.get("engine") == "2021" else None
        sil = f"{ref:.1f}" if ref else ""
        err = fmt_pct(pct(x["invoke"] / 1e6, ref)) if ref else ""
        top = x["top"] + ("" if x["top"] == "5" else " (expected 5)")
        rep = r["rep"] or {}
        print(f"| {r['name']} | {r['board']} | {r['timing']} | {m.get('kern','')} | {m.get('opt','')} | {m.get('mem','')} | "
              f"{x['invoke'] / 1e6:.2f} | {sil} | {err} | {top} | {rep.get('instructions', 0) / 1e6:.1f} |")
    print(f"\nSilicon: {KWS_SRC}; the seed built with MCUXpresso SDK 2.9.1 and its GCC.")


# ---------------------------------------------------------------- Glow KWS
def glow_rows(d):
    rows = []
    for r in load_runs(d):
        out = fw_out(r)
        inf = field(out, "inference_cycles")
        top = field(out, "top_class")
        rep = r["rep"] or {}
        ops = rep.get("operators") or []
        rows.append(dict(run=r, inf=int(inf) if inf else None, top=top, ops=ops, profile=rep.get("profile")))
    return rows


def glow(args):
    rows = glow_rows(args.dir)
    rows.sort(key=lambda x: (x["run"]["board"], x["run"]["name"], timing_order(x["run"]["timing"])))
    print("### KWS with stock Glow bundles (pytorch/glow model-compiler -backend=CPU, clang-14 libjit): DWT cycles around kws()\n")
    print("| firmware | board | mode | weights | -instrument-ir | inference (Mcycles) | instr (M, whole run) | top class | eIQ Glow on silicon (Mcycles) |")
    print("|---|---|---|---|---|---:|---:|---|---:|")
    for x in rows:
        r = x["run"]
        mem = "ram" if "-ram" in r["name"] else "flash"
        instr = "yes" if "-instr" in r["name"] else "no"
        if x["inf"] is None:
            print(f"| {r['name']} | {r['board']} | {r['timing']} | {mem} | {instr} | FAILED: {failure(r)} | | | |")
            continue
        ref = GLOW_SILICON.get((r["board"], mem))
        rep = r["rep"] or {}
        top = x["top"] + ("" if x["top"] == "5" else " (expected 5)")
        print(f"| {r['name']} | {r['board']} | {r['timing']} | {mem} | {instr} | {x['inf'] / 1e6:.2f} | "
              f"{rep.get('instructions', 0) / 1e6:.1f} | {top} | {ref or ''} |")
    print("\neIQ Glow on silicon: " + KWS_SRC + ". NXP's eIQ Glow routes operators to CMSIS-NN and inlines "
          "kernels: a different program from stock Glow, so compare attribution and ranking, not absolute cycles.")


def profiles(args):
    """What simbench's operator profiles print: DIR/NAME.BOARD.PROFILE.json (+ .txt)."""
    dwt = {}
    if args.runs:
        for r in load_runs(args.runs):
            if r["timing"] == "detailed":
                out = fw_out(r)
                v = field(out, "invoke_cycles") or field(out, "inference_cycles")
                if v:
                    dwt[(r["name"], r["board"])] = int(v)
    print("\n### What `simbench --profile P` prints on this firmware (detailed mode)\n")
    print("| firmware | board | --profile | profile used | rows | inferences | operator cycles (M) | DWT-timed (M) | operator cycles / DWT | row names (in order, repeats collapsed) | notes |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---|---|")
    for path in sorted(glob.glob(os.path.join(args.dir, "*.json"))):
        parts = os.path.basename(path)[:-5].split(".")
        name, board, prof = ".".join(parts[:-2]), parts[-2], parts[-1]
        try:
            rep = json.load(open(path))
        except (OSError, ValueError) as e:
            txt = path[:-5] + ".txt"
            msg = open(txt).read().strip().splitlines()[-1] if os.path.exists(txt) else str(e)
            print(f"| {name} | {board} | {prof} | FAILED: {msg} | | | | | | | |")
            continue
        p = rep.get("profile") or {}
        ops = rep.get("operators") or []
        names = []
        for o in ops:
            n = o.get("op") or o.get("kernel") or "?"
            if not names or names[-1][0] != n:
                names.append([n, 1])
            else:
                names[-1][1] += 1
        shown = ", ".join(f"{n}" + (f" x{c}" if c > 1 else "") for n, c in names[:8])
        if len(names) > 8:
            shown += f", ... ({len({n for n, _ in names})} distinct names)"
        opc = p.get("operator_cycles", 0) or 0
        d = dwt.get((name, board))
        cov = f"{100.0 * opc / d:.1f} %" if d else ""
        notes = "; ".join(p.get("notes") or [])
        if len(notes) > 300:
            notes = notes[:300] + " ..."
        print(f"| {name} | {board} | {prof} | {p.get('source', 'none')} | {len(ops)} | {p.get('inferences', '')} | "
              f"{opc / 1e6:.2f} | {d / 1e6 if d else 0:.2f} | {cov} | {shown.replace('|', '/')} | {notes.replace('|', '/')} |")


def _by(rows, key):
    out = {}
    for x in rows:
        out.setdefault(key(x), {})[x["run"]["timing"]] = x
    return out


def _err(v, ref):
    return fmt_pct(pct(v, ref)) if v is not None else "FAILED"


def combined(args):
    """The accuracy table of the README: one row per configuration, detailed and fast side by side."""
    o = args.dir
    print("| benchmark | core / board | silicon | simbench detailed | error | simbench fast | error | silicon source |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    context = []
    cm = os.path.join(o, "coremark")
    if os.path.isdir(cm):
        rows = coremark_rows(cm, args.iterations)
        byname = _by(rows, lambda x: x["run"]["name"])
        for name in ("cm-m4", "cm-m33", "cm-m7"):
            t = byname.get(name)
            if not t:
                continue
            any_ = next(iter(t.values()))
            core = any_["core"]
            d, f = t.get("detailed", {}).get("cmmhz"), t.get("fast", {}).get("cmmhz")
            crc = "" if all(x["crc_ok"] for x in t.values()) else " (CRC BAD)"
            refs = CM_SILICON.get(core, [])
            if core == "m33" and len(refs) == 2:
                lo, hi = refs[0][0], refs[1][0]
                print(f"| CoreMark/MHz{crc} | {core.upper()} ({any_['run']['board']}) | {lo:.3f}–{hi:.3f} | "
                      f"{d:.3f} | {_err(d, lo)} / {_err(d, hi)} | {f:.3f} | {_err(f, lo)} / {_err(f, hi)} | "
                      f"{refs[0][1]}; GCC 13.2: {hi:.3f} ({refs[0][2]}) |")
                continue
            for v, what, src in refs:
                print(f"| CoreMark/MHz{crc} | {core.upper()} ({any_['run']['board']}) | {v:.3f} | {d:.3f} | {_err(d, v)} | "
                      f"{f:.3f} | {_err(f, v)} | {what} ({src}) |")
        fl, sx = byname.get("cm-lpc55s69-flash", {}), byname.get("cm-lpc55s69-sramx", {})
        if fl and sx:
            def cmv(t, k):
                v = t.get(k, {}).get("cmmhz")
                return f"{v:.3f}" if v else "FAILED"
            context.append(("CoreMark/MHz from flash / from SRAMX", "M33 (lpc55s69)",
                            f"{cmv(fl, 'detailed')} / {cmv(sx, 'detailed')}", f"{cmv(fl, 'fast')} / {cmv(sx, 'fast')}",
                            "no published LPC55S69 figure at GCC -O2"))
    for eng in ("2021", "current"):
        runs = os.path.join(o, f"tflm-{eng}", "runs")
        if not os.path.isdir(runs):
            continue
        rows = tflm_rows(runs)
        kern_order = {"cmsis": 0, "cmsisnnO3": 1, "cmsisnodsp": 2, "ref": 3}
        keyed = _by(rows, lambda x: (x["run"]["board"], kern_order.get(x["meta"].get("kern"), 9),
                                      x["meta"].get("opt", ""), x["meta"].get("mem", ""), x["meta"].get("kern")))
        for (board, _, opt, mem, kern), t in sorted(keyed.items()):
            dx, fx = t.get("detailed"), t.get("fast")
            d = dx["invoke"] / 1e6 if dx and dx["invoke"] else None
            f = fx["invoke"] / 1e6 if fx and fx["invoke"] else None
            bad = [x["top"] for x in t.values() if x["top"] != "5"]
            top = f" (top class {bad[0]}, expected 5)" if bad else ""
            kdesc = {"cmsis": "CMSIS-NN", "cmsisnnO3": "CMSIS-NN at -O3", "cmsisnodsp": "CMSIS-NN, no DSP ext.",
                     "ref": "reference kernels"}.get(kern, kern)
            label = f"KWS, TFLM {eng} {kdesc}, -{opt}, model in {'flash' if mem == 'flash' else 'RAM/DTCM'}{top}"
            ref = KWS_SILICON.get((board, opt, mem))
            fmt = lambda v: f"{v:.2f} M" if v is not None else "FAILED"
            if ref and eng == "2021" and kern == "cmsis":
                print(f"| {label} | {board} | {ref:.1f} M | {fmt(d)} | {_err(d, ref)} | {fmt(f)} | {_err(f, ref)} | {KWS_SRC} |")
            else:
                note = f"seed's CMSIS-NN build on silicon: {ref:.1f} M" if ref else ""
                context.append((label, board, fmt(d), fmt(f), note))
    runs = os.path.join(o, "glow", "runs")
    if os.path.isdir(runs):
        keyed = _by(glow_rows(runs), lambda x: (x["run"]["board"], x["run"]["name"]))
        for (board, name), t in sorted(keyed.items()):
            mem = "ram" if "-ram" in name else "flash"
            fmt = lambda x: f"{x['inf'] / 1e6:.2f} M" if x and x["inf"] else "FAILED"
            ref = GLOW_SILICON.get((board, mem))
            context.append((f"KWS, stock Glow bundle ({name})", board, fmt(t.get("detailed")), fmt(t.get("fast")),
                            f"NXP eIQ Glow on silicon: {ref} M (calls CMSIS-NN: a different program)"))
    if context:
        print("\nWithout a silicon figure of their own (context for the rows above):\n")
        print("| firmware | board | simbench detailed | simbench fast | note |")
        print("|---|---|---:|---:|---|")
        for row in context:
            print("| " + " | ".join(row) + " |")
    print(f"\nKWS silicon: {KWS_SRC}, MCUXpresso SDK 2.9.1 and its GCC; DWT around Invoke(). "
          "CoreMark silicon: GCC -O2, code and data in TCM. simbench: DWT cycles the firmware itself counted.")


def op_cycles(o):
    for k in ("cycles", "total_cycles", "inclusive_cycles"):
        if isinstance(o.get(k), (int, float)):
            return o[k]
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["coremark", "tflm", "glow", "profiles", "combined"])
    ap.add_argument("dir")
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--runs", help="profiles: the runs directory, for the DWT-timed cycles")
    args = ap.parse_args()
    {"coremark": coremark, "tflm": tflm, "glow": glow, "profiles": profiles, "combined": combined}[args.what](args)


if __name__ == "__main__":
    main()
