import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from imgot import ColorTransfer, read_image
from imgot.cli.plan import plan as plan_command
from imgot.palette import Palette
from imgot.planview import draw_plan, hex_colors, plan_csv

RED, BLUE, WHITE = [255, 0, 0], [0, 0, 255], [255, 255, 255]


def rgb_palette(colors, weights):
    return Palette(np.asarray(colors, float) / 255, np.asarray(weights, float))


def test_band_thickness_follows_the_mass():
    source = rgb_palette([RED, WHITE], [0.75, 0.25])
    reference = rgb_palette([BLUE], [1.0])
    picture = np.asarray(draw_plan((source, reference, [[0.75], [0.25]]), 400, 300, color_space="rgb"))
    left, right = picture[:, 40], picture[:, 360]  # inside each column of swatches
    is_red = (left[:, 0] > 200) & (left[:, 2] < 60)
    is_white = left.min(axis=1) > 250
    is_blue = (right[:, 2] > 200) & (right[:, 0] < 60)
    assert is_red.sum() / is_white.sum() == pytest.approx(3, rel=0.1)  # swatches sized by mass
    assert is_blue.sum() == pytest.approx(is_red.sum() + is_white.sum(), abs=4)
    assert np.flatnonzero(is_white).mean() < np.flatnonzero(is_red).mean()  # lightest on top
    middle = picture[:, 200]
    band = middle.min(axis=1) < 235  # band pixels, not the light background
    assert band.sum() == pytest.approx(is_blue.sum(), rel=0.1)


def test_draw_plan_from_a_color_map(warm, cool, tmp_path):
    color_map = ColorTransfer(n_clusters=6).fit(cool).color_map(warm)
    picture = draw_plan(color_map, 320, 200)
    assert picture.size == (320, 200) and picture.mode == "RGB"
    picture.save(tmp_path / "plan.png")


def test_plan_csv_labels_and_values(warm, cool, tmp_path):
    color_map = ColorTransfer(n_clusters=5).fit(cool).color_map(warm)
    text = plan_csv(color_map, tmp_path / "plan.csv")
    assert (tmp_path / "plan.csv").read_text() == text
    rows = [line.split(",") for line in text.splitlines()]
    assert rows[0][1:] == hex_colors(color_map.reference_palette.colors)
    assert [row[0] for row in rows[1:]] == hex_colors(color_map.source_palette.colors)
    np.testing.assert_allclose([[float(v) for v in row[1:]] for row in rows[1:]], color_map.plan, rtol=1e-9)
    with pytest.raises(FileExistsError):
        plan_csv(color_map, tmp_path / "plan.csv")


@pytest.mark.parametrize("bad", [
    (rgb_palette([RED], [1]), rgb_palette([BLUE], [1]), [[0.5, 0.5]]),
    (rgb_palette([RED], [1]), rgb_palette([BLUE], [1]), [[-1.0]]),
    "not a plan",
])
def test_bad_plans_raise(bad):
    with pytest.raises((ValueError, TypeError)):
        draw_plan(bad, 300, 200)


def test_cli_plan(tmp_path, warm, cool):
    Image.fromarray(warm).save(tmp_path / "src.png")
    Image.fromarray(cool).save(tmp_path / "ref.png")
    args = [str(tmp_path / "src.png"), str(tmp_path / "ref.png"), "-o", str(tmp_path / "plan.png"),
            "--csv", str(tmp_path / "plan.csv"), "--clusters", "6", "--size", "360x240"]
    result = CliRunner().invoke(plan_command, args)
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "plan.png").shape == (240, 360, 3)
    assert len((tmp_path / "plan.csv").read_text().splitlines()) == 7
    again = CliRunner().invoke(plan_command, args)
    assert again.exit_code == 1 and "--overwrite" in again.output
    bad_size = CliRunner().invoke(plan_command, args[:4] + ["--size", "big", "--overwrite"])
    assert bad_size.exit_code == 2
    small = CliRunner().invoke(plan_command, args[:4] + ["--size", "50x40", "--overwrite"])
    assert small.exit_code == 2 and "120..8192" in small.output  # out of bounds: a bad option value
    missing_args = [str(tmp_path / "nope.png"), *args[1:3], str(tmp_path / "p2.png")]
    missing = CliRunner().invoke(plan_command, missing_args)
    assert missing.exit_code == 1 and "no such file" in missing.output
