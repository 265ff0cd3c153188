"""The tools under benchmark, and the jobs that run in fresh child processes.

Every tool maps a decoded uint8 RGB source and reference to a uint8 RGB
output through its own public API with its documented defaults:

- ``imgot:<method>``: ``imgot.transfer(image, reference, method=...)`` for each
  method imgot offers (the default method is called with no ``method``), and
  ``imgot:<method>+detail`` with ``preserve_detail=True`` (the README's recipes);
- ``skimage``: ``skimage.exposure.match_histograms(..., channel_axis=-1)``;
- ``cm:<method>``: color-matcher's ``ColorMatcher().transfer(src=, ref=,
  method=)`` followed by ``Normalizer(result).uint8_norm()``, as in its README;
- ``pct:<method>``: python-color-transfer's ``ColorTransfer()`` methods, on BGR
  arrays as documented (the RGB <-> BGR flips happen outside the timing);
- ``pot:<solver>``: POT's color-adaptation example: 1000 random pixels per
  image, ``ot.da.EMDTransport()`` or ``SinkhornTransport(reg_e=1e-1)`` fitted
  on them, ``transform(Xs=all pixels)``, clipped to [0, 1].

Only the standard library is imported at module level: ``run.py`` (the small
parent) imports the tool names from here, and each job imports what it needs.
Jobs, each run as ``python benchmarks/peers.py JOB SPEC.json``:

- ``methods``: imgot's method names and default, discovered at run time;
- ``prepare``: the upscaled input images;
- ``measure``: one tool on one pair (timing, whole-process time; the parent
  reads the peak RSS from ``os.wait4``);
- ``metrics``: the quality metrics of every output of one size, and the
  contact sheets;
- ``profile``: the default imgot pipeline stage by stage, under cProfile.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FALLBACK_METHODS = ("emd", "sinkhorn")

# name -> (distribution whose version is reported, one-line description)
PEERS = {
    "skimage": ("scikit-image", "match_histograms(channel_axis=-1)"),
    "cm:hm": ("color-matcher", "ColorMatcher().transfer(method='hm')"),
    "cm:reinhard": ("color-matcher", "ColorMatcher().transfer(method='reinhard')"),
    "cm:mkl": ("color-matcher", "ColorMatcher().transfer(method='mkl')"),
    "cm:hm-mkl-hm": ("color-matcher", "ColorMatcher().transfer(method='hm-mkl-hm')"),
    "pct:mean_std": ("python-color-transfer", "ColorTransfer().mean_std_transfer"),
    "pct:lab": ("python-color-transfer", "ColorTransfer().lab_transfer"),
    "pct:pdf": ("python-color-transfer", "ColorTransfer().pdf_transfer(regrain=False)"),
    "pct:pdf+regrain": ("python-color-transfer", "ColorTransfer().pdf_transfer(regrain=True)"),
    "pot:emd": ("pot", "example recipe: 1000 samples, ot.da.EMDTransport, transform(all pixels)"),
    "pot:sinkhorn": ("pot", "example recipe: 1000 samples, ot.da.SinkhornTransport(reg_e=1e-1)"),
}
POT_SAMPLES = 1000
# chroma_structure and blotch convert whole images to CIELAB (float64): about
# 15 s per output at 12 MP. They are computed up to this size (native-size
# quality), the other scores at every size.
FULL_LAB_MAX_PIXELS = 4_000_000


# --------------------------------------------------------------------------- tools


def _to_uint8(array):
    import numpy as np

    if array.dtype == np.uint8:
        return array
    return np.clip(np.rint(array), 0, 255).astype(np.uint8)


def _imgot(variant: str | None):
    """``None`` / ``default``: ``imgot.transfer(src, ref)`` with no options (the default
    recipe, detail step included); ``default--no-detail``: the fast path (default method,
    ``preserve_detail=False``); ``METHOD``: that method alone (``preserve_detail=False``, since detail is on
    by default for every method); ``METHOD+detail``: ``preserve_detail=True``."""
    import imgot

    if variant in (None, "", "default"):
        return lambda source, reference: imgot.transfer(source, reference)
    if variant == "default--no-detail":
        return lambda source, reference: imgot.transfer(source, reference, preserve_detail=False)
    method, _, option = variant.partition("+")
    detail = option == "detail"
    return lambda source, reference: imgot.transfer(source, reference, method=method, preserve_detail=detail)


def _skimage():
    from skimage.exposure import match_histograms

    return lambda source, reference: _to_uint8(match_histograms(source, reference, channel_axis=-1))


def _color_matcher(method: str):
    from color_matcher import ColorMatcher
    from color_matcher.normalizer import Normalizer

    def run(source, reference):
        result = ColorMatcher().transfer(src=source, ref=reference, method=method)
        return Normalizer(result).uint8_norm()

    return run


def _python_color_transfer(method: str):
    import numpy as np
    from python_color_transfer.color_transfer import ColorTransfer

    transfer = ColorTransfer()
    calls = {
        "mean_std": lambda s, r: transfer.mean_std_transfer(img_arr_in=s, img_arr_ref=r),
        "lab": lambda s, r: transfer.lab_transfer(img_arr_in=s, img_arr_ref=r),
        "pdf": lambda s, r: transfer.pdf_transfer(img_arr_in=s, img_arr_ref=r, regrain=False),
        "pdf+regrain": lambda s, r: transfer.pdf_transfer(img_arr_in=s, img_arr_ref=r, regrain=True),
    }
    call = calls[method]
    # The library works on BGR (cv2) arrays: the flips are outside the timed call.
    return call, lambda rgb: np.ascontiguousarray(rgb[..., ::-1])


def _pot(solver: str):
    import numpy as np
    import ot

    def run(source, reference):
        x_source = source.reshape(-1, 3).astype(np.float64) / 255.0
        x_reference = reference.reshape(-1, 3).astype(np.float64) / 255.0
        rng = np.random.RandomState(42)
        xs = x_source[rng.randint(x_source.shape[0], size=(POT_SAMPLES,))]
        xt = x_reference[rng.randint(x_reference.shape[0], size=(POT_SAMPLES,))]
        model = ot.da.EMDTransport() if solver == "emd" else ot.da.SinkhornTransport(reg_e=1e-1)
        model.fit(Xs=xs, Xt=xt)
        mapped = model.transform(Xs=x_source)
        return _to_uint8(np.clip(mapped, 0.0, 1.0).reshape(source.shape) * 255.0)

    return run


def make_tool(name: str):
    """Return ``(run, to_native)``: ``run(source, reference)`` on arrays already
    converted by ``to_native`` (identity except for BGR libraries)."""
    same = lambda rgb: rgb  # noqa: E731
    family, _, variant = name.partition(":")
    if family == "imgot":
        return _imgot(variant or None), same
    if family == "skimage":
        return _skimage(), same
    if family == "cm":
        return _color_matcher(variant), same
    if family == "pct":
        return _python_color_transfer(variant)
    if family == "pot":
        return _pot(variant), same
    raise ValueError(f"unknown tool {name!r}")


# --------------------------------------------------------------------------- jobs


def job_methods(spec: dict) -> dict:
    """imgot's methods: the CLI's --method choices, else a registry, else the fallback."""
    methods, origin = None, None
    try:
        from imgot.cli.transfer import transfer as command

        for param in command.params:
            if param.name == "method" and hasattr(param.type, "choices"):
                methods, origin = list(param.type.choices), "imgot.cli.transfer --method choices"
    except Exception:  # noqa: BLE001 - discovery falls through to the next source
        pass
    if not methods:
        import imgot.transfer as module

        for attr in ("METHODS", "TRANSFER_METHODS"):
            if isinstance(getattr(module, attr, None), (dict, list, tuple)):
                methods, origin = list(getattr(module, attr)), f"imgot.transfer.{attr}"
                break
    if not methods:
        try:
            from imgot.transport import TRANSPORT_METHODS

            methods, origin = list(TRANSPORT_METHODS), "imgot.transport.TRANSPORT_METHODS"
        except Exception:  # noqa: BLE001
            methods, origin = list(FALLBACK_METHODS), "fallback"
    import inspect

    import imgot

    default = inspect.signature(imgot.transfer).parameters["method"].default
    return {"methods": methods, "default": default, "origin": origin}


def _named_path(name: str) -> Path:
    """Where a benchmark image comes from: sample_images/, or a photo shipped inside an
    installed package (scikit-image, scikit-learn, matplotlib); see README.md."""
    base = name.removesuffix("_grain")
    if (ROOT / "sample_images" / f"{base}.jpg").exists():
        return ROOT / "sample_images" / f"{base}.jpg"
    import importlib.util

    def package_dir(pkg):
        return Path(importlib.util.find_spec(pkg).origin).parent

    shipped = {"hubble_deep_field": ("skimage", "data/hubble_deep_field.jpg"),
               "retina": ("skimage", "data/retina.jpg"), "ihc": ("skimage", "data/ihc.png"),
               "camera": ("skimage", "data/camera.png"),
               "china": ("sklearn", "datasets/images/china.jpg"),
               "flower": ("sklearn", "datasets/images/flower.jpg"),
               "grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg")}
    pkg, rel = shipped[base]
    return package_dir(pkg) / rel


def _open_named(name: str):
    """Open a benchmark image; ``NAME_grain``: NAME with seeded Gaussian grain (sigma 8 on
    0..255, seed 0), later saved at JPEG quality 30 (a grainy, blocky source)."""
    import numpy as np
    from PIL import Image

    image = Image.open(_named_path(name))
    if not name.endswith("_grain"):
        return image
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    noisy = rgb + np.random.default_rng(0).normal(0.0, 8.0, rgb.shape)
    return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))


def job_prepare(spec: dict) -> dict:
    """Upscale each sample image to about `megapixels` MP (aspect kept), JPEG q95, cached."""
    from PIL import Image

    made = {}
    for name, megapixels, target in spec["images"]:
        target = Path(target)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with _open_named(name) as image:
                image = image.convert("RGB")
                if not megapixels:  # native size: no resampling (quality columns)
                    temp = target.with_suffix(".part.jpg")
                    image.save(temp, quality=30 if name.endswith("_grain") else 95)
                    temp.replace(target)
                    made[str(target)] = True
                    continue
                aspect = image.width / image.height
                width = round((megapixels * 1e6 * aspect) ** 0.5)
                height = round(width / aspect)
                temp = target.with_suffix(".part.jpg")
                image.resize((width, height), Image.Resampling.BICUBIC).save(temp, quality=95)
                temp.replace(target)
        made[str(target)] = True
    return {"prepared": len(made)}


def job_measure(spec: dict) -> dict:
    """Time one tool on one pair. Whole-process time: spawn to output written."""
    import numpy as np
    from PIL import Image

    name = spec["tool"]
    imgot_io = name.startswith("imgot")
    run, to_native = make_tool(name)
    if imgot_io:
        from imgot import io

        source = io.load_image(spec["source"]).pixels
        reference = io.load_image(spec["reference"]).pixels
    else:
        source = np.array(Image.open(spec["source"]).convert("RGB"))
        reference = np.array(Image.open(spec["reference"]).convert("RGB"))
    native_source, native_reference = to_native(source), to_native(reference)

    def timed():
        # Fresh writable copies each time (color-matcher writes into its inputs); copies are not timed.
        s, r = native_source.copy(), native_reference.copy()
        start = time.perf_counter()
        result = run(s, r)
        return time.perf_counter() - start, result

    cold, native_out = timed()  # first call: includes lazy imports, counted in the whole process only
    out = _to_uint8(to_native(native_out))  # to_native is its own inverse
    if imgot_io:
        io.write_image(spec["output"], out, quality=95, overwrite=True)
    else:
        Image.fromarray(out).save(spec["output"], quality=95)
    whole = time.time() - spec["spawned"]
    times = [timed()[0] for _ in range(spec["repeats"])]
    np.save(spec["array"], out)  # exact pixels for the metrics, outside the clocks
    return {
        "transfer_s": statistics.median(times),
        "times_s": times,
        "cold_s": cold,
        "whole_s": whole,
        "shape": list(out.shape),
    }


def _thumbnail(array, label: str, height: int):
    from PIL import Image, ImageDraw

    image = Image.fromarray(array)
    width = round(image.width * height / image.height)
    tile = Image.new("RGB", (width, height + 16), "white")
    tile.paste(image.resize((width, height), Image.Resampling.BILINEAR), (0, 16))
    ImageDraw.Draw(tile).text((3, 2), label, fill="black")
    return tile


def _contact_sheet(path: Path, source, reference, outputs: list, height: int = 120, columns: int = 6):
    from PIL import Image

    tiles = [_thumbnail(source, "source", height), _thumbnail(reference, "reference", height)]
    tiles += [_thumbnail(array, label, height) for label, array in outputs]
    width = max(tile.width for tile in tiles)
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * (width + 4) + 4, rows * (tiles[0].height + 4) + 4), "white")
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        sheet.paste(tile, (4 + column * (width + 4), 4 + row * (tile.height + 4)))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=90)


def quality_scores(source, reference, out, baseline: float) -> dict:
    """The quality columns of one output; `baseline` is ``color_distance(source, reference)``.

    ``chroma_structure`` and ``blotch`` (full-image CIELAB) only up to
    :data:`FULL_LAB_MAX_PIXELS`.
    """
    from imgot.metrics import blotch, chroma_structure, color_distance, grain, structure_score, structure_similarity

    scores = {"color_ratio": color_distance(out, reference) / baseline,
              "ssim": structure_similarity(source, out),
              "grain": grain(source, out),
              "structure": structure_score(source, out)}
    if out.shape[0] * out.shape[1] <= FULL_LAB_MAX_PIXELS:  # full-image CIELAB: the quality sizes only
        scores.update(chroma_structure=chroma_structure(source, out), blotch=blotch(source, out))
    return scores


def job_metrics(spec: dict) -> dict:
    """Quality metrics of each output; contact sheets when asked."""
    import numpy as np
    from PIL import Image

    from imgot.metrics import color_distance

    results, pair, pair_key = {}, {}, None
    for item in spec["items"]:
        key = (item["source"], item["reference"])
        if key != pair_key:  # items come grouped by pair: keep one pair in memory
            source = np.asarray(Image.open(item["source"]).convert("RGB"))
            reference = np.asarray(Image.open(item["reference"]).convert("RGB"))
            pair = {"source": source, "reference": reference,
                    "baseline": color_distance(source, reference)}
            pair_key = key
        results[item["id"]] = quality_scores(pair["source"], pair["reference"], np.load(item["array"]),
                                             pair["baseline"])
    for sheet in spec.get("sheets", []):
        source = np.asarray(Image.open(sheet["source"]).convert("RGB"))
        reference = np.asarray(Image.open(sheet["reference"]).convert("RGB"))
        outputs = [(label, np.load(array)) for label, array in sheet["outputs"]]
        _contact_sheet(Path(sheet["path"]), source, reference, outputs)
    return {"metrics": results}


# Stages of the pipeline: (file name, function-name prefixes or None for any function).
# A stage's time is the cumulative time of the calls that enter its functions from
# outside them, so nested calls are not counted twice.
PROFILE_STAGES = [
    ("palette (sampling + k-means)", [("palette.py", None)]),
    ("transport (plan + projection)", [("transport.py", None)]),
    ("LUT (build)", [("mapping.py", ("build_lut", "lut_from", "smooth_displacement", "_finish"))]),
    ("apply (LUT on pixels)", [("mapping.py", ("apply_", "_trilinear", "_filter_strip"))]),
]


def _matches(key, rules) -> bool:
    filename, _, name = key
    return any(filename.endswith("/imgot/" + file) and (prefixes is None or name.startswith(prefixes))
               for file, prefixes in rules)


def job_profile(spec: dict) -> dict:
    """The default pipeline under cProfile: read, transfer (split into stages by the
    imgot module doing the work), write. Wall times are medians without the profiler."""
    import cProfile
    import pstats

    from imgot import ColorTransfer, io

    def read():
        return io.load_image(spec["source"]), io.load_image(spec["reference"])

    def transfer(source, reference):
        return ColorTransfer().fit(reference.pixels).transform(source.pixels)

    def write(source, mapped):
        io.write_image(spec["output"], mapped, icc_profile=source.icc_profile, exif=source.exif,
                       quality=95, overwrite=True)

    source, reference = read()
    write(source, transfer(source, reference))  # warm-up: lazy imports, thread pools
    walls = {"read": [], "transfer": [], "write": []}
    for _ in range(spec["repeats"]):
        for name, func in (("read", read), ("transfer", lambda: transfer(source, reference)),
                           ("write", lambda: write(source, mapped))):
            start = time.perf_counter()
            result = func()
            walls[name].append(time.perf_counter() - start)
            if name == "transfer":
                mapped = result
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    transfer(source, reference)
    profiler.disable()
    profiled_total = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats  # key -> (cc, nc, tt, ct, callers)
    stages = []
    for name, rules in PROFILE_STAGES:
        seconds, top = 0.0, []
        for key, (_, _, tt, ct, callers) in stats.items():
            if not _matches(key, rules):
                continue
            entry = sum(edge[3] for caller, edge in callers.items() if not _matches(caller, rules))
            seconds += entry
            if entry:
                top.append((entry, f"{key[2]} ({Path(key[0]).name})"))
        stages.append({"stage": name, "profiled_s": seconds,
                       "top": [text for _, text in sorted(top, reverse=True)[:3]]})
    hot = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:8]
    hot = [{"function": f"{key[2]} ({Path(key[0]).name}:{key[1]})", "own_s": tt, "cumulative_s": ct}
           for key, (_, _, tt, ct, _) in hot]
    return {"read_s": statistics.median(walls["read"]), "transfer_s": statistics.median(walls["transfer"]),
            "write_s": statistics.median(walls["write"]), "profiled_total_s": profiled_total,
            "stages": stages, "hot": hot, "shape": list(source.pixels.shape)}


JOBS = {"methods": job_methods, "prepare": job_prepare, "measure": job_measure,
        "metrics": job_metrics, "profile": job_profile}


def main(argv: list[str]) -> int:
    job, spec_path = argv[1], Path(argv[2])
    spec = json.loads(spec_path.read_text())
    try:
        result = JOBS[job](spec)
    except Exception as error:  # noqa: BLE001 - reported to the parent, shown in the table
        result = {"error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"}
    spec_path.with_suffix(".result.json").write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
