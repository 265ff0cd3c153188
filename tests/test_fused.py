"""The detail step's compiled render (imgot.fused) against its NumPy route: the same bytes."""

import sys

import numpy as np
import pytest

from imgot import ColorTransfer, fused
from imgot.detail import preserve_detail
from imgot.recolor import apply_lut_to_image

from .conftest import load_sample

numba = pytest.importorskip("numba")


def _both(monkeypatch, source, output, **options):
    """preserve_detail through the NumPy route and through the kernel."""
    monkeypatch.setattr(fused, "MIN_PIXELS", 1 << 62)
    plain = preserve_detail(source, output, **options)
    monkeypatch.setattr(fused, "MIN_PIXELS", 0)
    monkeypatch.setattr(fused, "_MANY", [True])
    assert fused.kernel_for(source.shape[0] * source.shape[1]) is not None
    return plain, preserve_detail(source, output, **options)


def test_the_kernel_gives_the_numpy_routes_bytes_on_a_photo(monkeypatch, coffee):
    photo = load_sample("rocket.jpg", (640, 480))
    lut = ColorTransfer(n_clusters=16, n_samples=3000).fit(coffee).color_lut(photo)
    mapped = apply_lut_to_image(lut, photo, preserve_detail=False)
    plain, compiled = _both(monkeypatch, photo, mapped)
    assert np.array_equal(plain, compiled)
    # ... and through the whole default transfer, tone curve and all.
    monkeypatch.setattr(fused, "MIN_PIXELS", 1 << 62)
    expected = ColorTransfer(n_clusters=16, n_samples=3000).fit(coffee).transform(photo)
    monkeypatch.setattr(fused, "MIN_PIXELS", 0)
    assert fused.kernel_for(photo.shape[0] * photo.shape[1]) is not None
    assert np.array_equal(ColorTransfer(n_clusters=16, n_samples=3000).fit(coffee).transform(photo), expected)


def test_the_kernel_matches_on_black_saturated_and_out_of_gamut_colors(monkeypatch):
    # Pure black pixels (the relighting's dark branch), saturated primaries and a map that
    # sends them past the gamut (its mix toward gray), and a view that is not contiguous.
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (300, 420, 3), dtype=np.uint8)
    source[:40] = 0
    source[40:80, :, 0], source[40:80, :, 1:] = 255, 0
    output = np.clip(source.astype(int) * 2 - 60, 0, 255).astype(np.uint8)
    output[80:120] = 255 - source[80:120]
    plain, compiled = _both(monkeypatch, source, output)
    assert np.array_equal(plain, compiled)
    view = np.asarray(source[::-1, 10:-10])
    plain, compiled = _both(monkeypatch, view, np.ascontiguousarray(output[::-1, 10:-10]), radius=6)
    assert not view.flags.c_contiguous and np.array_equal(plain, compiled)


def test_without_numba_the_numpy_route_runs(monkeypatch):
    rng = np.random.default_rng(1)
    source = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    monkeypatch.setattr(fused, "MIN_PIXELS", 1 << 62)
    expected = preserve_detail(source, 255 - source)
    monkeypatch.setattr(fused, "MIN_PIXELS", 0)
    monkeypatch.setattr(fused, "_MANY", [True])
    monkeypatch.setattr(fused, "_KERNEL", [])
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    assert fused.load() is None and fused.kernel_for(10**9) is None
    assert np.array_equal(preserve_detail(source, 255 - source), expected)


def test_a_one_image_process_loads_the_kernel_only_where_it_pays(monkeypatch):
    # Loading costs about a second in a fresh process: one image uses it only from
    # PAYS_OFF_PIXELS up; a process that renders many (expect_many) from MIN_PIXELS up.
    monkeypatch.setattr(fused, "_WARM", [])
    monkeypatch.setattr(fused, "_MANY", [])
    assert fused.kernel_for(12_000_000) is None and fused.kernel_for(fused.MIN_PIXELS - 1) is None
    assert fused.kernel_for(fused.PAYS_OFF_PIXELS) is not None  # ... and it is warm from then on
    assert fused.kernel_for(2_000_000) is not None
    monkeypatch.setattr(fused, "_WARM", [])
    fused.expect_many()
    assert fused.kernel_for(2_000_000) is not None and fused.kernel_for(fused.MIN_PIXELS - 1) is None
