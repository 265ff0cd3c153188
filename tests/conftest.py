from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"


def gradient(height=48, width=64, low=(0.9, 0.5, 0.2), high=(1.0, 0.9, 0.6)):
    """A smooth float image in [0, 1] running from color `low` to color `high`."""
    t = np.linspace(0.0, 1.0, width)[None, :, None]
    rows = np.linspace(0.0, 0.3, height)[:, None, None]
    low, high = np.asarray(low), np.asarray(high)
    return np.clip(low + (high - low) * t - 0.2 * rows, 0.0, 1.0)


@pytest.fixture
def warm():
    """Warm 8-bit image with some texture."""
    rng = np.random.default_rng(1)
    image = gradient() + rng.normal(0, 0.02, (48, 64, 3))
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


@pytest.fixture
def cool():
    """Cool 8-bit image with a different palette."""
    rng = np.random.default_rng(2)
    image = gradient(low=(0.05, 0.15, 0.4), high=(0.4, 0.7, 0.95)) + rng.normal(0, 0.02, (48, 64, 3))
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def load_sample(name, size=(160, 120)):
    """A bundled sample photograph, downscaled for speed, as uint8 RGB."""
    with Image.open(SAMPLES / name) as image:
        return np.asarray(image.convert("RGB").resize(size, Image.Resampling.LANCZOS))


@pytest.fixture
def rocket():
    return load_sample("rocket.jpg")


@pytest.fixture
def coffee():
    return load_sample("coffee.jpg")


# Tests that take several seconds each (process pools, full-size photos, every method through every command),
# marked slow here so that `python -m pytest -m "not slow"` stays a short lane; plain `python -m pytest` runs
# them. Subprocess, browser and encoding tests carry their own @pytest.mark.slow. An entry is a test function
# (all its parameters) or one parametrized id.
LONG = {
    "test_parity.py::test_morph_yields_the_same_kind_whatever_its_flags",
    "test_parity.py::test_color_morph_frames_are_the_transfer_at_each_strength",
    "test_contracts.py::test_sinkhorn_divergence_is_zero_for_the_same_points_in_another_order",
    "test_transport.py::test_small_reg_tends_to_emd",
    "test_serve.py::test_every_answer_carries_nosniff_and_the_json_and_downloads_no_store",
    "test_serve.py::test_each_slider_moves_the_preview_as_the_library_would",
    "test_serve.py::test_palettes_plan_and_metrics_match_the_library",
    "test_serve.py::test_metrics_use_the_shown_preview_and_the_distance_of_color_distance",
    "test_batch.py::test_per_image_equals_transform_and_keeps_structure",
    "test_batch.py::test_dask_local_cluster_equals_process_pool",
    "test_batch.py::test_resume_skips_and_overwrite_redoes",
    "test_batch.py::test_fit_on_outputs_stay_identical_once_workers_bake_the_lut",
    "test_batch.py::test_save_lut_with_fit_on_is_the_map_every_output_went_through",
    "test_batch.py::test_bad_files_are_reported_and_inputs_untouched",
    "test_batch.py::test_glob_and_format_keep_names",
    "test_hardening.py::test_single_color_reference_is_a_tint_and_detail_keeps_texture",
    "test_hardening.py::test_any_valid_array_keeps_dtype_shape_and_alpha",
    "test_normalize.py::test_cli_normalize",
    "test_normalize.py::test_normalizing_brings_images_closer_to_the_barycenter_and_each_other",
    "test_transfer.py::test_strength_moves_colors_progressively",
    "test_transfer.py::test_same_seed_same_bytes_other_seed_other_palette",
    "test_transfer.py::test_fit_once_transform_many",
    "test_transfer.py::test_image_onto_itself_is_nearly_unchanged",
    "test_regions.py::test_cli_masks_and_regions",
    "test_regions.py::test_batch_regions_by_pattern_and_fit_on_refusal",
    "test_regions.py::test_saved_region_model_gives_the_same_bytes",
    "test_regions.py::test_apply_a_lut_through_per_image_masks",
    "test_default.py::test_a_noisy_uniform_patch_stays_uniform",
    "test_examples.py::test_smooth_map_sheet_and_scores",
    "test_morph.py::test_spatial_morph_default_size_and_errors",
    # 2 s or more each on a loaded 2-core machine (pytest --durations on the fast lane):
    "test_batch.py::test_the_shared_reference_state_gives_the_bytes_of_a_fit_per_image",
    "test_batch.py::test_fit_on_gives_one_lut_for_all",
    "test_cli.py::test_every_command_takes_a_tiny_or_thin_image",
    "test_cli.py::test_save_lut_then_apply_reproduces_the_transfer",
    "test_cli.py::test_default_output_is_next_to_source_and_never_overwritten",
    "test_cli.py::test_same_command_same_bytes",
    "test_cli.py::test_user_errors_give_one_line_and_exit_1",
    "test_examples.py::test_desserts_marginals_and_chart",
    "test_examples.py::test_colorist_sheets_are_written",
    "test_methods.py::test_unbalanced_does_not_repaint_the_subject_with_the_sky",
    "test_methods.py::test_sliced_is_near_exact_in_distribution",
    "test_methods.py::test_sliced_seed_and_n_iter_are_exposed",
    "test_estimator.py::test_transfer_many_takes_str_paths",
    "test_transfer.py::test_pil_in_pil_out",
    "test_transfer.py::test_output_kind_dtype_and_shape_match_the_input",
    "test_frames.py::test_folders_with_an_animated_gif_work_in_distance_and_normalize",
    "test_frames.py::test_apply_and_batch_recolor_every_frame",
    "test_normalize.py::test_cli_fit_sample_is_a_hidden_deprecated_name_of_fit_images",
    "test_normalize.py::test_cli_background_and_min_content",
    "test_palette.py::test_binned_kmeans_is_as_tight_as_scikit_learn_on_the_raw_samples",
    "test_regions.py::test_batch_masks_by_pattern_match_the_api",
    "test_parity.py::test_plan_and_morph_offer_exactly_the_methods_with_a_palette_plan",
    "test_compare.py::test_compare_passes_every_transfer_option_to_each_method",
}
# Doctests of the same cost (a worker process, a 2**24-color table, a morph of every frame).
LONG_DOCTESTS = {"imgot.batch.transfer_many", "imgot.mapping.ColorLUT.bake", "imgot.morph.morph"}
# Every method through transfer, batch, --fit-on, --save-lut and apply: the lane keeps histogram's two cases.
LONG |= {f"test_parity.py::test_transfer_batch_apply_save_lut_and_api_give_the_same_bytes[{method}-{detail}]"
         for method in ("emd", "sinkhorn", "unbalanced", "linear", "reinhard", "sliced", "emd-sliced",
                        "histogram-linear-histogram") for detail in ("detail", "no-detail")}


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config, items):
    found = set()
    for item in items:
        if item.path.parent.name != "tests":
            if item.name in LONG_DOCTESTS:
                item.add_marker(pytest.mark.slow)
                found.add(item.name)
            continue
        name = f"{item.path.name}::{item.originalname if hasattr(item, 'originalname') else item.name}"
        for key in (name, f"{item.path.name}::{item.name}"):
            if key in LONG:
                item.add_marker(pytest.mark.slow)
                found.add(key)
    files = {item.path.name for item in items}
    stale = sorted(key for key in LONG - found if key.split("::")[0] in files and "[" not in key)
    stale += sorted(key for key in LONG_DOCTESTS - found if f"{key.split('.')[1]}.py" in files)
    if stale and not config.option.keyword:  # a renamed test must not fall out of the list unnoticed
        raise pytest.UsageError(f"tests/conftest.py LONG names tests that do not exist: {', '.join(stale)}")


# -- a real Dask cluster on loopback ------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nothing listens on (yet) on 127.0.0.1."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    """Wait until something listens on 127.0.0.1:`port`."""
    import socket
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.fixture
def dask_cluster():
    """A ``dask scheduler`` and two single-thread ``dask worker`` processes (w1, w2) on loopback.

    Yields ``(address, processes)``: the processes are the scheduler's then
    the workers' (each leads its own process group, so a test can kill one
    worker and its nanny); whatever is still running is killed afterwards.
    The workers import the imgot under test (this checkout, not an installed copy).
    """
    import os
    import shutil
    import signal
    import subprocess
    import sys

    import imgot

    pytest.importorskip("distributed")
    dask = shutil.which("dask", path=str(Path(sys.executable).parent))
    if dask is None:
        pytest.skip("the dask command line is not installed")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    here = str(Path(imgot.__file__).resolve().parent.parent)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
    started = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                env=env, **quiet)]
    try:
        wait_port(port)
        for name in ("w1", "w2"):
            started.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                                             "--no-dashboard", "--name", name, "--host", "127.0.0.1"],
                                            env=env, **quiet))
        yield address, started
    finally:
        for proc in started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
