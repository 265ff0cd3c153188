"""Benchmark imgot against the tools users would pick instead; write benchmarks/RESULTS.md.

Run from the repository root, with the peers installed (``pip install -e ".[bench]"``):

    python benchmarks/run.py                      # 0.5, 2 and 12 MP, 3 repeats, 5 pairs
    python benchmarks/run.py --quick              # smoke run: 0.5 MP, 1 repeat, 2 pairs
    python benchmarks/run.py --sizes 0.5,2 --peers skimage,cm --methods emd
    python benchmarks/run.py --report-only        # rebuild RESULTS.md from the last raw results

Each measurement runs in a fresh process (``peers.py measure``). This parent
imports only the standard library and never loads an image: on Linux a
child's ``ru_maxrss`` starts from the parent's RSS at fork, so a small
parent keeps the children's peak RSS (read with ``os.wait4``) honest.
Inputs, outputs, contact sheets and raw results go to ``benchmarks/out/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from peers import PEERS

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PEERS_SCRIPT = HERE / "peers.py"
RESULTS = HERE / "RESULTS.md"
RAW = OUT / "raw.json"
KEPT_MARK = "<!-- sections below are written by other benchmarks; run.py keeps them -->"

# (source, reference): clearly different palettes first.
# (source, reference): really different palettes; origins in README.md. Size 0 = native.
PAIRS = [("rocket", "coffee"), ("coffee", "rocket"),
         ("chelsea", "rocket"),                 # small source (0.14 MP)
         ("grace_hopper", "flower"),            # portrait
         ("hubble_deep_field", "coffee"),       # low-key
         ("ihc", "china"),                      # high-key
         ("camera", "flower"),                  # gray source
         ("chelsea_grain", "china"),            # grainy + JPEG q30 source
         ("retina", "astronaut"),               # large source (2 MP)
         ("astronaut", "china"),                # portrait, flat studio background
         ("grace_hopper", "china"),             # portrait (skin, cloth, flat wall) toward a landscape
         ("astronaut", "coffee"),               # portrait toward a studio still life
         ("chelsea", "china"),                  # fur toward a landscape with sky
         ("coffee", "hubble_deep_field")]       # large flat areas (table, wall) toward a low-key image
VERSIONS = ["imgot", "numpy", "scipy", "pot", "scikit-learn", "scikit-image", "pillow",
            "color-matcher", "python-color-transfer", "opencv-python"]
QUALITY_PEER = "pct:pdf+regrain"
# Sizes above this are timed only: their full-image scores would take longer than the whole run.
QUALITY_MAX_MP = 4.0
# imgot recipes measured besides the plain methods: method + --preserve-detail.
RECIPES = ("emd+detail", "emd-sliced+detail")
QUALITY_RECIPE = "imgot:emd-sliced+detail"
# imgot.transfer(src, ref) with no options, and the fast path (preserve_detail=False, default method).
DEFAULT_TOOLS = ("default", "default--no-detail")
PROBE_MP = 0.05  # size of the rate probe of POT's recipe


# --------------------------------------------------------------------------- children


def run_job(job: str, spec: dict, tag: str, timeout: float | None = None) -> tuple[dict, float]:
    """Run ``peers.py JOB`` in a fresh process; return its result and peak RSS (MB)."""
    jobs = OUT / "jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    spec_path = jobs / f"{tag}.json"
    result_path = spec_path.with_suffix(".result.json")
    result_path.unlink(missing_ok=True)
    spec = {**spec, "spawned": time.time()}
    spec_path.write_text(json.dumps(spec))
    child = subprocess.Popen([sys.executable, str(PEERS_SCRIPT), job, str(spec_path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.monotonic() > deadline:
            child.kill()
            os.wait4(child.pid, 0)
            return {"error": f"timeout after {timeout:.0f} s"}, 0.0
        time.sleep(0.05)
    stderr = child.stderr.read().decode(errors="replace").strip()
    child.stderr.close()
    child.returncode = os.waitstatus_to_exitcode(status)
    if result_path.exists():
        result = json.loads(result_path.read_text())
    else:
        last = stderr.splitlines()[-1] if stderr else f"exit status {child.returncode}"
        result = {"error": f"child died: {last}"}
    return result, usage.ru_maxrss / 1024


# --------------------------------------------------------------------------- plan


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0.5,2,12", help="megapixels, comma-separated [0.5,2,12]")
    parser.add_argument("--repeats", type=int, default=3, help="timed transfers per measurement [3]")
    parser.add_argument("--pairs", type=int, default=len(PAIRS),
                        help=f"source/reference pairs, 1..{len(PAIRS)} [{len(PAIRS)}]")
    parser.add_argument("--speed-pairs", type=int, default=None,
                        help="pairs at the sizes given in MP (native size keeps --pairs): the first N [--pairs]")
    parser.add_argument("--methods", help="imgot methods, comma-separated [all, discovered at run time]")
    parser.add_argument("--peers", help="peers or peer families (skimage, cm, pct, pot, cm:hm, ...) "
                        f"[all: {', '.join(PEERS)}]")
    parser.add_argument("--at", action="append", default=[], metavar="MP=TOOLS",
                        help="at this size run only these tools, e.g. --at 12=imgot,skimage,cm:hm "
                        "('imgot' = the default method)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 0.5 MP, 1 repeat, 2 pairs, no profile")
    parser.add_argument("--max-seconds", type=float, default=120.0,
                        help="skip a measurement predicted to take longer (rate measured at smaller sizes) [120]")
    parser.add_argument("--pot-max-mp", type=float, default=0.5,
                        help="largest size for POT's recipe (nearest-sample mapping is slow) [0.5]")
    parser.add_argument("--profile-size", type=float, default=12.0,
                        help="megapixels of the cProfile run of the default pipeline; 0 for none [12]")
    parser.add_argument("--note", default="", help="free text for the header of RESULTS.md")
    parser.add_argument("--report-only", action="store_true", help="rebuild RESULTS.md from out/raw.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats, args.pairs = "0.5", 1, 2
        if "--profile-size" not in " ".join(argv):
            args.profile_size = 0.0
    args.sizes = sorted(0.0 if size == "native" else float(size) for size in args.sizes.split(","))
    if not 1 <= args.pairs <= len(PAIRS):
        parser.error(f"--pairs must be in 1..{len(PAIRS)}")
    args.speed_pairs = args.pairs if args.speed_pairs is None else args.speed_pairs
    if not 1 <= args.speed_pairs <= args.pairs:
        parser.error(f"--speed-pairs must be in 1..{args.pairs}")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    return args


def size_tag(megapixels: float) -> str:
    return f"{megapixels:g}mp" if megapixels else "native"


def input_path(name: str, megapixels: float) -> Path:
    return OUT / "inputs" / f"{name}_{size_tag(megapixels)}.jpg"


def select_tools(args, methods: list[str], default: str) -> list[str]:
    chosen = methods if not args.methods else [m for m in args.methods.split(",") if m]
    unknown = set(chosen) - set(methods) - set(RECIPES) - set(DEFAULT_TOOLS)
    if unknown:
        sys.exit(f"unknown imgot method(s) {sorted(unknown)}; imgot offers: {', '.join(methods)}")
    # The default recipe (no options) and its fast path first; plain methods run with preserve_detail=False.
    tools = [f"imgot:{d}" for d in DEFAULT_TOOLS if not args.methods or d in chosen]
    tools += [f"imgot:{m}" for m in methods if m in chosen]
    tools += [f"imgot:{r}" for r in RECIPES if r.partition("+")[0] in methods
              and (not args.methods or r in chosen)]
    wanted = list(PEERS) if args.peers is None else [p for p in args.peers.split(",") if p]
    for item in wanted:
        if not any(name == item or name.split(":")[0] == item for name in PEERS):
            sys.exit(f"unknown peer {item!r}; choose from: {', '.join(PEERS)} or a family (cm, pct, pot)")
    tools += [name for name in PEERS if any(name == w or name.split(":")[0] == w for w in wanted)]
    return tools


def restrictions(args, default: str) -> dict[float, set[str]]:
    limits = {}
    for item in args.at:
        size, _, names = item.partition("=")
        limits[float(size)] = {"imgot:default" if n == "imgot" else n for n in names.split(",") if n}
    return limits


# --------------------------------------------------------------------------- measuring


def measure_all(args) -> dict:
    started = time.time()
    load_start = os.getloadavg()
    discovered, _ = run_job("methods", {}, "methods")
    if "error" in discovered:
        sys.exit(f"cannot import imgot: {discovered['error']}")
    methods, default = discovered["methods"], discovered["default"]
    tools = select_tools(args, methods, default)
    limits = restrictions(args, default)
    pairs = PAIRS[: args.pairs]
    names = sorted({name for pair in pairs for name in pair})
    speed_names = sorted({name for pair in pairs[: args.speed_pairs] for name in pair})
    sizes = list(args.sizes)
    profile_size = args.profile_size or None
    extra = {profile_size} - {None}
    if any(t.startswith("pot:") for t in tools):
        extra.add(min(PROBE_MP, sizes[0]))
    images = [(n, s, str(input_path(n, s))) for s in sorted(set(sizes) | extra)
              for n in ((names if s == 0.0 else speed_names) if s in sizes else ["rocket", "coffee"])]
    probes: dict[str, dict] = {}
    print(f"imgot methods ({discovered['origin']}): {', '.join(methods)}; default {default}", flush=True)
    print(f"preparing {len(images)} input images ...", flush=True)
    prepared, _ = run_job("prepare", {"images": images}, "prepare")
    if "error" in prepared:
        sys.exit(f"cannot prepare inputs: {prepared['error']}")

    rates: dict[str, dict[float, float]] = {}  # tool -> size -> slowest transfer seen (s)
    rows = []
    probe_size = min(PROBE_MP, sizes[0])
    for tool in [t for t in tools if t.startswith("pot:")]:
        # POT maps each pixel through its nearest sample: learn its rate on a small image first.
        source, reference = pairs[0]
        spec = {"tool": tool, "source": str(input_path(source, probe_size)),
                "reference": str(input_path(reference, probe_size)), "repeats": 1,
                "output": str(OUT / f"probe_{tool.replace(':', '_')}.jpg"),
                "array": str(OUT / f"probe_{tool.replace(':', '_')}.npy")}
        result, _ = run_job("measure", spec, f"probe_{tool.replace(':', '_')}", timeout=600)
        if "error" not in result:
            rates[tool] = {probe_size: result["transfer_s"]}
            probes[tool] = {"size": probe_size, "pair": f"{source}->{reference}", "transfer_s": result["transfer_s"]}
            print(f"  probe {probe_size:g} MP {tool}: {result['transfer_s']:.2f} s", flush=True)
    for size in sizes:
        metric_items, sheet_items = [], []
        for source, reference in pairs if size == 0.0 else pairs[: args.speed_pairs]:
            pair = f"{source}->{reference}"
            folder = OUT / "results" / size_tag(size) / f"{source}_{reference}"
            folder.mkdir(parents=True, exist_ok=True)
            outputs = []
            for tool in tools:
                row = {"size": size, "pair": pair, "tool": tool}
                skip = skip_reason(tool, size, args, rates, limits)
                if skip:
                    row["skipped"] = skip
                    rows.append(row)
                    continue
                stem = tool.replace(":", "_").replace("+", "_")
                spec = {"tool": tool, "source": str(input_path(source, size)),
                        "reference": str(input_path(reference, size)), "repeats": args.repeats,
                        "output": str(folder / f"{stem}.jpg"), "array": str(folder / f"{stem}.npy")}
                timeout = max(300.0, 3 * (predict(rates.get(tool, {}), size) if size else 0.0) * (args.repeats + 1))
                result, rss = run_job("measure", spec, f"measure_{size_tag(size)}_{source}_{reference}_{stem}",
                                      timeout=timeout)
                row.update(result)
                if "error" not in result:
                    row["rss_mb"] = rss
                    seen = rates.setdefault(tool, {})
                    seen[size] = max(seen.get(size, 0.0), result["transfer_s"], result["cold_s"])
                    item_id = f"{size}|{pair}|{tool}"
                    metric_items.append({"id": item_id, "source": spec["source"],
                                         "reference": spec["reference"], "array": spec["array"]})
                    outputs.append((tool, spec["array"]))
                rows.append(row)
                shown = (f"{result['transfer_s']:.3f} s, {rss:.0f} MB" if "error" not in result
                         else result["error"])
                print(f"  {size:g} MP  {pair:<20} {tool:<18} {shown}", flush=True)
            if size == sizes[0] and outputs:
                sheet_items.append({"path": str(OUT / "sheets" / f"{source}_{reference}.jpg"),
                                    "source": str(input_path(source, size)),
                                    "reference": str(input_path(reference, size)), "outputs": outputs})
        if metric_items and size > QUALITY_MAX_MP:  # speed only: the quality is read at the smaller sizes
            for item in metric_items:
                Path(item["array"]).unlink(missing_ok=True)
            metric_items = []
        if metric_items:
            print(f"  {size:g} MP  quality metrics of {len(metric_items)} outputs ...", flush=True)
            metrics, _ = run_job("metrics", {"items": metric_items, "sheets": sheet_items},
                                 f"metrics_{size_tag(size)}")
            for row in rows:
                key = f"{row['size']}|{row['pair']}|{row['tool']}"
                if key in metrics.get("metrics", {}):
                    row.update(metrics["metrics"][key])
                elif "error" in metrics and row["size"] == size and "transfer_s" in row:
                    row["metrics_error"] = metrics["error"]
            if size != sizes[0]:  # keep the arrays of the smallest size only (contact sheets)
                for item in metric_items:
                    Path(item["array"]).unlink(missing_ok=True)

    profile = None
    if profile_size:
        print(f"profiling the default pipeline at {profile_size:g} MP ...", flush=True)
        spec = {"source": str(input_path("rocket", profile_size)),
                "reference": str(input_path("coffee", profile_size)),
                "output": str(OUT / "profile_out.jpg"), "repeats": max(args.repeats, 3)}
        profile, _ = run_job("profile", spec, "profile", timeout=900)
        profile["size"] = profile_size
    return {
        "rows": rows, "probes": probes, "tools": tools, "methods": methods, "default": default,
        "method_origin": discovered["origin"], "pairs": [f"{s}->{r}" for s, r in pairs],
        "sizes": sizes, "repeats": args.repeats, "profile": profile, "speed_pairs": args.speed_pairs,
        "started": started, "seconds": time.time() - started,
        "load": [load_start, os.getloadavg()], "command": " ".join(shlex.quote(a) for a in sys.argv),
        "note": args.note, "machine": machine(), "versions": versions(),
        "limits": {str(k): sorted(v) for k, v in restrictions(args, default).items()},
        "pot_max_mp": args.pot_max_mp, "max_seconds": args.max_seconds,
    }


def skip_reason(tool, size, args, rates, limits) -> str | None:
    if size in limits and tool not in limits[size]:
        return "not run at this size (--at)"
    if tool.startswith("pot:") and size > args.pot_max_mp:
        seen = rates.get(tool)
        extra = f"; predicted ~{predict(seen, size):.0f} s per transfer" if seen else ""
        return f"POT recipe only up to {args.pot_max_mp:g} MP{extra}"
    predicted = predict(rates.get(tool, {}), size) * (args.repeats + 1) if size else 0.0
    if predicted > args.max_seconds:
        return f"skipped: predicted {predicted:.0f} s > {args.max_seconds:.0f} s for {args.repeats + 1} transfers"
    return None


def predict(seen: dict[float, float], size: float) -> float:
    """Seconds per transfer at `size` from the slowest times seen at smaller sizes: a line
    through the two largest sizes (imgot's palette cost hardly grows with pixels), else
    proportional to the pixel count."""
    seen = {s: t for s, t in seen.items() if s > 0}  # native size: no megapixel count to scale by
    if not seen:
        return 0.0
    sizes = sorted(seen)
    if len(sizes) == 1:
        return seen[sizes[0]] * size / sizes[0]
    (a, ta), (b, tb) = [(s, seen[s]) for s in sizes[-2:]]
    slope = max((tb - ta) / (b - a), 0.0)
    return max(tb + slope * (size - b), tb)


def machine() -> dict:
    model = "unknown"
    memory = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model, "memory_gb": memory,
            "python": platform.python_version(), "platform": platform.platform()}


def versions() -> dict:
    found = {}
    for name in VERSIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


# --------------------------------------------------------------------------- report


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, spec=".3f", suffix=""):
    return "–" if value is None else f"{value:{spec}}{suffix}"


def cell(rows, size, tool, key):
    return [r.get(key) for r in rows if r["size"] == size and r["tool"] == tool and key in r]


def paired_ratio(rows, size, numerator, denominator):
    """Median over pairs of t(numerator) / t(denominator), both measured on the pair."""
    times = {(r["pair"], r["tool"]): r["transfer_s"] for r in rows if r["size"] == size and "transfer_s" in r}
    ratios = [times[(pair, numerator)] / times[(pair, denominator)]
              for pair in {p for p, _ in times} if (pair, numerator) in times and (pair, denominator) in times]
    return (statistics.median(ratios), len(ratios)) if ratios else (None, 0)


def label(tool, default):
    if tool == "imgot:default":
        return f"imgot default ({default}+detail)"
    if tool == "imgot:default--no-detail":
        return f"imgot default --no-detail ({default})"
    if tool.startswith("imgot:") and "+" not in tool:
        return f"imgot {tool[6:]} (detail=False)"
    return tool.replace("imgot:", "imgot ")


def size_table(raw, size) -> list[str]:
    rows, default = raw["rows"], raw["default"]
    heading = f"### {size:g} MP" if size else "### native size (quality)"
    if size > QUALITY_MAX_MP:
        heading += f" (speed only: quality is scored up to {QUALITY_MAX_MP:g} MP)"
    out = [heading, "",
           "| tool | transfer (s) | speed vs skimage | whole process (s) | peak RSS (MB) "
           "| color distance ratio ↓ | L* SSIM ↑ | structure ↑ | grain ↓ | chroma structure ↑ | blotch ↓ | note |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for tool in raw["tools"]:
        mine = [r for r in rows if r["size"] == size and r["tool"] == tool]
        if not mine or all("(--at)" in r.get("skipped", "") for r in mine):
            continue
        measured = [r for r in mine if "transfer_s" in r]
        notes = sorted({r.get("skipped") or r.get("error") or r.get("metrics_error") or "" for r in mine} - {""})
        if len(measured) not in (0, len(mine)):
            notes.append(f"{len(measured)} of {len(mine)} pairs")
        speed, _ = paired_ratio(rows, size, "skimage", tool)
        peak = max(cell(rows, size, tool, "rss_mb"), default=None)
        if tool == "skimage":
            speed = 1.0 if measured else None
        out.append(
            f"| {label(tool, default)} | {fmt(median(cell(rows, size, tool, 'transfer_s')))} "
            f"| {fmt(speed, '.2f', '×')} | {fmt(median(cell(rows, size, tool, 'whole_s')), '.2f')} "
            f"| {fmt(peak, '.0f')} | {fmt(median(cell(rows, size, tool, 'color_ratio')))} "
            f"| {fmt(median(cell(rows, size, tool, 'ssim')))} | {fmt(median(cell(rows, size, tool, 'structure')))} "
            f"| {fmt(median(cell(rows, size, tool, 'grain')))} "
            f"| {fmt(median(cell(rows, size, tool, 'chroma_structure')))} "
            f"| {fmt(median(cell(rows, size, tool, 'blotch')))} "
            f"| {'; '.join(notes)} |")
    return out + [""]


def speed_summary(raw) -> list[str]:
    default = "imgot:default"
    sizes = raw["sizes"]
    out = [f"## Speed of imgot's default ({raw['default']}) against each tool",
           "",
           "Median over the pairs of t(tool) / t(imgot default) on the same pair in this run: "
           "above 1, imgot's default is that many times faster.",
           "",
           "| tool | " + " | ".join(f"{s:g} MP" if s else "native" for s in sizes) + " |",
           "|---|" + "---:|" * len(sizes)]
    for tool in raw["tools"]:
        if tool == default:
            continue
        cells = [paired_ratio(raw["rows"], s, tool, default)[0] for s in sizes]
        if all(c is None for c in cells):
            continue
        out.append(f"| {label(tool, raw['default'])} | " + " | ".join(fmt(c, '.2f', '×') for c in cells) + " |")
    return out + [""]


def largest_common(raw, *tools):
    for size in sorted(raw["sizes"], reverse=True):
        if all(cell(raw["rows"], size, t, "transfer_s") for t in tools):
            return size
    return None


def targets(raw) -> list[str]:
    rows, default = raw["rows"], "imgot:default"
    lines = ["## Targets", "",
             "| target | measured | status |", "|---|---|---|"]

    def status(ok, size, wanted=12.0):
        if ok is None:
            return "not measured"
        verdict = "met" if ok else "**missed**"
        return verdict if size == wanted else f"{verdict} at {size:g} MP (12 MP not measured)"

    size = largest_common(raw, default)
    t = median(cell(rows, size, default, "transfer_s")) if size else None
    lines.append(f"| default transfer at 12 MP ≤ 0.5 s | {fmt(t, '.3f', ' s')} at {fmt(size, 'g', ' MP')} "
                 f"| {status(None if t is None else t <= 0.5, size)} |")
    for peer, factor, text in (("skimage", 1.0, "faster than match_histograms"),
                               ("cm:hm-mkl-hm", 10.0, "≥ 10× faster than color-matcher hm-mkl-hm"),
                               ("pct:pdf", 10.0, "≥ 10× faster than python-color-transfer pdf")):
        size = largest_common(raw, default, peer)
        ratio = paired_ratio(rows, size, peer, default)[0] if size else None
        ok = None if ratio is None else (ratio > factor if factor == 1.0 else ratio >= factor)
        lines.append(f"| {text} (12 MP) | {fmt(ratio, '.2f', '×')} at {fmt(size, 'g', ' MP')} "
                     f"| {status(ok, size)} |")
    size = 12.0 if cell(rows, 12.0, default, "rss_mb") else largest_common(raw, default)
    peak = max(cell(rows, size, default, "rss_mb"), default=None) if size else None
    lines.append(f"| peak RSS at 12 MP ≤ 700 MB | {fmt(peak, '.0f', ' MB')} at {fmt(size, 'g', ' MP')} "
                 f"(max over pairs) | {status(None if peak is None else peak <= 700, size)} |")
    for tool, who in ((default, "default"), (QUALITY_RECIPE, f"`{QUALITY_RECIPE[6:]}` recipe")):
        common = largest_common(raw, tool, QUALITY_PEER)
        if tool != default and common is None:
            continue
        quality_size = 0.0 if 0.0 in raw["sizes"] else common  # the quality targets are at native size
        for key, text, better in (
                ("color_ratio", "color distance ratio ≤ 0.75× pdf+regrain's", lambda a, b: a <= 0.75 * b),
                ("ssim", "L* SSIM ≥ pdf+regrain's", lambda a, b: a >= b),
                ("structure", "structure ≥ pdf+regrain's", lambda a, b: a >= b),
                ("grain", "grain ≤ pdf+regrain's", lambda a, b: a <= b),
                ("chroma_structure", "chroma structure ≥ pdf+regrain's", lambda a, b: a >= b),
                ("blotch", "blotch ≤ half of pdf+regrain's", lambda a, b: a <= 0.5 * b)):
            size = quality_size
            mine = median(cell(rows, size, tool, key)) if size is not None else None
            theirs = median(cell(rows, size, QUALITY_PEER, key)) if size is not None else None
            ok = None if mine is None or theirs is None else better(mine, theirs)
            verdict = "not measured" if ok is None else ("met" if ok else "**missed**")
            where = "native size" if size == 0.0 else fmt(size, 'g', ' MP')
            lines.append(f"| quality ({who}): {text} | {fmt(mine)} vs {fmt(theirs)} (medians over pairs, "
                         f"{where}) | {verdict} |")
        if tool != default:
            ratio = paired_ratio(rows, common, QUALITY_PEER, tool)[0]
            lines.append(f"| speed ({who}) against pdf+regrain | {fmt(ratio, '.2f', '×')} faster at "
                         f"{fmt(common, 'g', ' MP')} | (no target) |")
    return lines + [""]


def profile_section(raw) -> list[str]:
    profile = raw.get("profile")
    if not profile:
        return []
    if "error" in profile:
        return ["## Profile of the default pipeline", "", f"Profile failed: {profile['error']}", ""]
    height, width = profile["shape"][:2]
    total = profile["profiled_total_s"]
    wall = profile["read_s"] + profile["transfer_s"] + profile["write_s"]
    out = ["## Profile of the default pipeline", "",
           f"`rocket` → `coffee` at {profile['size']:g} MP ({width}×{height}), default `ColorTransfer()`, in one "
           "fresh process after a warm-up run. Read, transfer and write are wall-time medians without the "
           "profiler. The transfer is then split into stages from one cProfile run: each stage is the "
           "cumulative time of the calls entering that imgot module's functions (palette.py, transport.py, "
           "mapping.py); its share is of the profiled transfer, which cProfile slows down "
           f"({total:.3f} s profiled); stages can overlap where one module calls another. The main thread waits for the LUT worker threads inside *apply*.",
           "",
           "| stage | seconds | share | where (largest entry points) |",
           "|---|---:|---:|---|",
           f"| read (decode source + reference, imgot.io) | {profile['read_s']:.3f} | "
           f"{profile['read_s'] / wall:.0%} of the pipeline | |",
           f"| transfer (fit + transform) | {profile['transfer_s']:.3f} | "
           f"{profile['transfer_s'] / wall:.0%} of the pipeline | |"]
    attributed = 0.0
    for stage in profile["stages"]:
        attributed += stage["profiled_s"]
        out.append(f"| &nbsp;&nbsp;{stage['stage']} | {stage['profiled_s']:.3f} (profiled) "
                   f"| {stage['profiled_s'] / total:.0%} | {', '.join('`' + t + '`' for t in stage['top'])} |")
    out += [f"| write (JPEG q95, imgot.io) | {profile['write_s']:.3f} | "
            f"{profile['write_s'] / wall:.0%} of the pipeline | |",
            f"| **read + transfer + write** | {wall:.3f} | | |", "",
            "Hottest functions of the profiled transfer, by own time:", "",
            "| function | own (s) | cumulative (s) |", "|---|---:|---:|"]
    out += [f"| `{h['function']}` | {h['own_s']:.3f} | {h['cumulative_s']:.3f} |" for h in profile["hot"]]
    return out + [""]


def notes(raw) -> list[str]:
    rows = raw["rows"]
    lines = ["## Notes", ""]
    for tool in [t for t in raw["tools"] if t.startswith("pot:")]:
        rates = [r["transfer_s"] / r["size"] for r in rows  # (native size has no MP figure: left out)
                 if r["tool"] == tool and "transfer_s" in r and r["size"] > 0]
        probe = raw.get("probes", {}).get(tool)
        where = f"median over the {len(rates)} measurements in the tables" if rates else (
            f"one transfer of {probe['pair']} at {probe['size']:g} MP" if probe else "")
        has_size = bool(probe) and probe["size"] > 0  # a probe at native size has no MP figure
        where = where if rates or has_size else ""
        rate = median(rates) if rates else (probe["transfer_s"] / probe["size"] if has_size else None)
        if rate is not None:
            lines.append(f"- POT's recipe `{tool}`: {rate:.1f} s per megapixel ({where}), so about "
                         f"{rate * 12:.0f} s per transfer at 12 MP. Its `transform` maps every pixel through "
                         "its nearest fitted sample, batch by batch.")
    skipped = sorted({(r["tool"], r["size"], r["skipped"]) for r in rows if "skipped" in r})
    for tool, size, reason in skipped:
        if "(--at)" in reason:
            continue
        lines.append(f"- {tool} at {size:g} MP: {reason}.")
    errors = sorted({(r["tool"], r["size"], r["error"]) for r in rows if "error" in r})
    for tool, size, error in errors:
        lines.append(f"- {tool} at {size:g} MP failed: `{error}`.")
    limited = sorted({r["size"] for r in rows if "(--at)" in r.get("skipped", "")})
    for size in limited:
        ran = sorted({r["tool"] for r in rows if r["size"] == size and "skipped" not in r})
        lines.append(f"- At {size:g} MP only {', '.join(ran)} were run (`--at`).")
    if any(r["tool"] == "cm:reinhard" and r.get("ssim", 1) < 0.1 for r in rows):
        lines.append("- color-matcher's `reinhard` returns a nearly flat image on uint8 input (the dtype its "
                     "own `load_img_file` returns): it replaces zeros by 1/255, which is 0 in uint8, and then "
                     "takes log10(0). Its row is kept as measured.")
    return lines + [""]


def report(raw) -> str:
    m, v = raw["machine"], raw["versions"]
    started = datetime.fromtimestamp(raw["started"], timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = " → ".join("/".join(f"{x:.2f}" for x in la) for la in raw["load"])
    lines = [
        "# imgot benchmarks", "",
        f"Generated by `{raw['command']}` on {started} ({raw['seconds'] / 60:.0f} min). "
        "See [README.md](README.md) for what is measured and how.", "",
        f"- Machine: {m['cores']} cores, {m['cpu']}, {fmt(m['memory_gb'], '.0f', ' GB')} RAM; "
        f"Python {m['python']} on {m['platform']}.",
        f"- Load average (1/5/15 min) at start → end: {load}.",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        f"- imgot methods (from {raw['method_origin']}): {', '.join(raw['methods'])}; default "
        f"`{raw['default']}`.",
        f"- Pairs (source->reference): {', '.join(raw['pairs'])}; inputs upscaled with Pillow (bicubic, "
        f"JPEG q95); {raw['repeats']} timed transfers per measurement, each measurement in a fresh process.",
    ]
    speed_pairs = raw.get("speed_pairs", len(raw["pairs"]))
    if speed_pairs < len(raw["pairs"]):
        lines.append(f"- Native size (quality): all {len(raw['pairs'])} pairs; the sizes in MP (speed, and "
                     f"quality up to {QUALITY_MAX_MP:g} MP): the first {speed_pairs}.")
    if raw.get("note"):
        lines.append(f"- **Note:** {raw['note']}")
    lines += [
        "",
        "Columns: *transfer* is the median wall time of the transfer alone (decoded arrays in, uint8 "
        "array out), then the median over the pairs; *speed vs skimage* is the median over pairs of "
        "t(skimage) / t(tool) (above 1 = faster than `match_histograms`); *whole process* is spawn to "
        "output written (interpreter start, imports, read, one transfer, JPEG write); *peak RSS* is the "
        "largest over the pairs. Quality, medians over the pairs: *color distance ratio* is "
        "`color_distance(out, ref) / color_distance(src, ref)` (doing nothing = 1, lower is closer to "
        "the reference), *L\\* SSIM* is `structure_similarity(src, out)`, *grain* is `grain(src, out)` "
        "(0 = no added high-frequency energy in L\\*, 1 = twice the source's), *chroma structure* is "
        "`chroma_structure(src, out)` (SSIM's contrast-structure term on a\\* and b\\*: 1 = the source's "
        "chroma patterns, lower = speckle, blotches or false-color edges the source lacks), *blotch* is "
        "`blotch(src, out)` (rms CIELAB band-pass variation, 2-8 px, that the output adds in the "
        "source's smoothest quarter, in Delta E; 0 = none).",
        "",
        "## Results", "",
    ]
    for size in raw["sizes"]:
        lines += size_table(raw, size)
    lines += speed_summary(raw) + targets(raw) + profile_section(raw) + notes(raw)
    lines += ["Contact sheets (source, reference, every output, at the smallest size) are in "
              "`benchmarks/out/sheets/` (not committed).", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.report_only:
        raw = json.loads(RAW.read_text())
        if args.note:
            raw["note"] = args.note
    else:
        raw = measure_all(args)
        RAW.write_text(json.dumps(raw, indent=1))
    text = report(raw)
    print(text)
    # Sections other benchmarks write (below KEPT_MARK) survive a new report.
    previous = RESULTS.read_text() if RESULTS.exists() else ""
    if KEPT_MARK in previous:
        text = text.rstrip("\n") + "\n\n" + previous[previous.index(KEPT_MARK):]
    RESULTS.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
