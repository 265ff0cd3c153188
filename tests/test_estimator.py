"""ColorTransfer follows scikit-learn's estimator contract; one code path gives the same bytes everywhere."""

import numpy as np
import pytest
import scipy.linalg
from click.testing import CliRunner
from PIL import Image
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFitted
from sklearn.utils.validation import check_is_fitted

from imgot import ColorTransfer, NotFittedError, read_image, transfer
from imgot.batch import transfer_many
from imgot.cli import main
from imgot.colorspace import srgb_to_lab
from imgot.linear import color_statistics, gaussian_map

FAST = {"n_clusters": 8, "n_samples": 2000}


def test_clone_get_set_params_and_check_is_fitted(warm, cool):
    model = ColorTransfer(method="linear", strength=0.5)
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    with pytest.raises(SklearnNotFitted):
        check_is_fitted(model)
    with pytest.raises(NotFittedError):
        model.transform(warm)
    assert model.fit(cool, None) is model
    check_is_fitted(model)
    assert not hasattr(clone(model), "reference_states_")  # clone drops learned state
    model.set_params(strength=1.0, preserve_detail=False)
    assert model.get_params()["strength"] == 1.0
    with pytest.raises(ValueError, match="valid parameters"):
        model.set_params(clusters=8)
    assert "method='linear'" in repr(model) and repr(ColorTransfer()) == "ColorTransfer()"
    np.testing.assert_array_equal(ColorTransfer(**FAST).fit_transform(warm),
                                  ColorTransfer(**FAST).fit(warm).transform(warm))


def test_linear_is_the_closed_form_mkl_on_a_real_photo(rocket, coffee):
    def moments(image):
        lab = srgb_to_lab(image.reshape(-1, 3) / 255.0)
        return lab.mean(axis=0), np.cov(lab.T, bias=True), lab

    mean_s, cov_s, lab_s = moments(rocket)
    mean_t, cov_t, lab_t = moments(coffee)
    root = np.real(scipy.linalg.sqrtm(cov_s))
    inverse = np.linalg.inv(root)
    expected = inverse @ np.real(scipy.linalg.sqrtm(root @ cov_t @ root)) @ inverse
    A, b = gaussian_map(*color_statistics(lab_s, 1e-4), *color_statistics(lab_t, 1e-4))
    np.testing.assert_allclose(A, expected, atol=1e-6)
    # A flat image still gives a finite map.
    flat = np.full((8, 8, 3), 128, np.uint8)
    assert np.isfinite(transfer(flat, coffee, method="linear")).all()


@pytest.mark.parametrize("method,fit_on", [("histogram", None), ("linear", "first"), ("emd-sliced", None)])
def test_transfer_batch_and_api_give_the_same_bytes(tmp_path, rocket, coffee, method, fit_on):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(rocket).save(folder / "src.png")
    Image.fromarray(coffee).save(tmp_path / "ref.png")
    options = ["--method", method, "--clusters", "8"]
    result = CliRunner().invoke(main, ["transfer", str(folder / "src.png"), str(tmp_path / "ref.png"),
                                       "-o", str(tmp_path / "cli.png"), *options])
    assert result.exit_code == 0, result.output
    args = ["batch", str(folder), "-r", str(tmp_path / "ref.png"), "-o", str(tmp_path / "out"), "-j", "1", *options]
    result = CliRunner().invoke(main, args + (["--fit-on", fit_on] if fit_on else []))
    assert result.exit_code == 0, result.output
    api = transfer(rocket, coffee, method=method, n_clusters=8)
    cli, batched = read_image(tmp_path / "cli.png"), read_image(tmp_path / "out" / "src.png")
    np.testing.assert_array_equal(cli, api)
    np.testing.assert_array_equal(batched, api)


def test_transfer_many_takes_str_paths(tmp_path, rocket, coffee):
    Image.fromarray(rocket).save(tmp_path / "a.png")
    results = list(transfer_many([str(tmp_path / "a.png")], coffee, tmp_path / "out", format="jpg", jobs=1, **FAST))
    assert [r.status for r in results] == ["done"] and (tmp_path / "out" / "a.jpg").exists()
