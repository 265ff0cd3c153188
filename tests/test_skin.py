"""Skin protection: the weight of imgot.skin, and protect_skin through every entry."""

import numpy as np
import pytest
from click.testing import CliRunner
from skimage.color import rgb2lab

import imgot
from imgot.cli import main
from imgot.skin import SKIN_CHROMA, SKIN_HUE, skin_weight, skin_weight_lab

SKIN = (224, 160, 130)  # a light skin tone: CIELAB about (71, 17, 22), hue 52 deg, chroma 28
SKY = (70, 120, 200)


def lab_of(rgb):
    return rgb2lab(np.asarray(rgb, float).reshape(1, 1, 3) / 255.0)[0, 0]


def portrait(size=64):
    """Left half a flat skin patch, right half a flat blue sky."""
    image = np.empty((size, size, 3), np.uint8)
    image[:, : size // 2], image[:, size // 2:] = SKIN, SKY
    return image


@pytest.fixture
def teal():
    rng = np.random.default_rng(3)
    return np.clip(rng.normal([40, 120, 120], 25, (48, 48, 3)), 0, 255).astype(np.uint8)


def test_the_documented_region_in_cielab():
    lab = np.array([
        lab_of(SKIN),                       # light skin
        [45.0, 14.0, 20.0],                 # dark skin: hue 55, chroma 24
        [60.0, 50.0, 65.0],                 # a saturated orange (chroma 82): not skin
        [55.0, 55.0, 30.0],                 # a red car (chroma 63)
        [80.0, 1.0, 3.0],                   # an off-white wall (chroma 3)
        lab_of(SKY),
    ])
    assert skin_weight_lab(lab).round(3).tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]


def test_the_weight_is_smooth_across_hue_and_chroma():
    """No edge where the protection starts: small steps of color give small steps of weight."""
    hue = np.radians(np.linspace(0, 120, 2401))
    chroma = np.linspace(0, 80, 1601)
    by_hue = skin_weight_lab(np.stack([np.full_like(hue, 60), 25 * np.cos(hue), 25 * np.sin(hue)], -1))
    by_chroma = skin_weight_lab(np.stack([np.full_like(chroma, 60), chroma * np.cos(1.0), chroma * np.sin(1.0)], -1))
    for weight in (by_hue, by_chroma):
        assert weight.max() == 1.0 and weight.min() == 0.0
        assert np.abs(np.diff(weight)).max() < 0.01  # 0.05 deg or 0.05 chroma per step
    # and it is full on the documented plateaus
    assert by_hue[(np.degrees(hue) >= SKIN_HUE[1]) & (np.degrees(hue) <= SKIN_HUE[2])].min() == 1.0
    assert by_chroma[(chroma >= SKIN_CHROMA[1]) & (chroma <= SKIN_CHROMA[2])].min() == 1.0


def test_highlights_inside_skin_take_the_skins_weight():
    """A near-white highlight in a face is not graded as a spot; the same color as a wide wall is."""
    image = np.array(portrait(512))  # the closing spans 2.5% of the shorter side: 13 pixels here
    image[100:108, 100:108] = (246, 240, 236)  # an 8-pixel highlight on the skin (chroma ~3)
    image[:, 256:] = (246, 240, 236)  # a wide off-white wall
    weight = skin_weight(image, 255)
    assert weight[103, 103] > 0.95 and weight[:, 300:].max() < 0.01


@pytest.mark.parametrize("amount", [0.4, 0.8, 1.0])
def test_skin_moves_by_the_documented_fraction_and_the_sky_not_at_all(teal, amount):
    source = portrait()
    plain = imgot.transfer(source, teal, n_clusters=8, preserve_detail=False)
    kept = imgot.transfer(source, teal, n_clusters=8, preserve_detail=False, protect_skin=amount)
    skin, sky = (slice(None), slice(4, 24)), (slice(None), slice(40, 60))
    expected = source[skin] + (1 - amount) * (plain[skin].astype(float) - source[skin])
    assert np.abs(plain[skin].astype(int) - source[skin]).max() > 30  # the grade does move skin
    assert np.abs(kept[skin] - expected).max() <= 1.0
    assert np.array_equal(kept[sky], plain[sky])


def test_protection_works_inside_an_apply_mask_and_with_regions(teal):
    source = portrait()
    mask = np.zeros(source.shape[:2], np.uint8)
    mask[:32] = 255
    plain = imgot.transfer(source, teal, n_clusters=8, preserve_detail=False, apply_mask=mask)
    kept = imgot.transfer(source, teal, n_clusters=8, preserve_detail=False, apply_mask=mask, protect_skin=1.0)
    assert np.array_equal(kept[32:], source[32:])  # outside the mask: the source, bit for bit
    assert np.abs(kept[:32, 4:24].astype(int) - source[:32, 4:24]).max() <= 1  # full protection
    assert np.array_equal(kept[:32, 40:60], plain[:32, 40:60])
    labels = np.zeros(source.shape[:2], np.uint8)
    labels[:, 32:] = 1
    regions = imgot.transfer(source, np.concatenate([teal, teal[:, ::-1]], 1)[:, :48], n_clusters=8,
                             preserve_detail=False, source_labels=labels, reference_labels=np.zeros((48, 48), np.uint8),
                             protect_skin=1.0)
    assert np.abs(regions[:, 4:24].astype(int) - source[:, 4:24]).max() <= 1


def test_cli_bare_flag_is_0_8_and_apply_agrees(tmp_path, teal):
    imgot.write_image(tmp_path / "src.png", portrait())
    imgot.write_image(tmp_path / "ref.png", teal)
    runner = CliRunner()
    args = ["transfer", str(tmp_path / "src.png"), str(tmp_path / "ref.png"), "--clusters", "8", "--no-detail"]
    assert runner.invoke(main, [*args, "-o", str(tmp_path / "a.png"), "--protect-skin",
                                "--save-lut", str(tmp_path / "a.cube")]).exit_code == 0
    expected = imgot.transfer(portrait(), teal, n_clusters=8, preserve_detail=False, protect_skin=0.8)
    assert np.abs(imgot.load_image(tmp_path / "a.png").pixels.astype(int) - expected).max() <= 1
    result = runner.invoke(main, ["apply", str(tmp_path / "a.cube"), str(tmp_path / "a.png"), "-o",
                                  str(tmp_path / "out"), "--protect-skin", "0.8"])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(main, [*args, "-o", str(tmp_path / "b.png"), "--protect-skin", "1.5"])
    assert bad.exit_code == 2 and "1.5" in bad.output


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_large_images_take_the_coarse_grid(dtype):
    """Over 1024 pixels a side the weight is computed on a coarser grid and interpolated back."""
    image = portrait(1100).astype(dtype) * (257 if dtype == np.uint16 else 1)
    weight = skin_weight(image, 255 if dtype == np.uint8 else 65535)
    assert weight.shape == (1100, 1100) and weight.flags.writeable
    assert weight[:, 20:500].min() == 1.0 and weight[:, 600:].max() == 0.0
    middle = weight[500, 520:580]
    assert np.all(np.diff(middle) <= 0) and np.abs(np.diff(middle)).max() < 0.2  # a smooth edge


def test_bad_amounts_are_refused():
    with pytest.raises(ValueError, match="protect_skin"):
        imgot.transfer(portrait(), portrait(), protect_skin=-0.1)


def test_a_gray_image_has_no_skin():
    gray = np.full((8, 8), 150, np.uint8)
    assert not skin_weight(gray, 255).any()
    assert np.array_equal(imgot.transfer(gray, portrait(), n_clusters=4, protect_skin=1.0),
                          imgot.transfer(gray, portrait(), n_clusters=4))
