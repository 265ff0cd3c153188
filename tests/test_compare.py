from click.testing import CliRunner
from PIL import Image

from imgot import read_image
from imgot.cli.compare import compare
from imgot.cli.evaluate import evaluate


def _pair(tmp_path, warm, cool):
    Image.fromarray(warm).save(tmp_path / "src.png")
    Image.fromarray(cool).save(tmp_path / "ref.png")
    return tmp_path / "src.png", tmp_path / "ref.png"


def test_evaluate_prints_one_row_per_output(tmp_path, warm, cool):
    src, ref = _pair(tmp_path, warm, cool)
    result = CliRunner().invoke(evaluate, [str(src), str(ref), str(src), str(ref)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["output", "color_dist", "ratio", "ssim", "grain"]
    assert lines[1].split()[2:] == ["1.000", "1.000", "+0.000"]
    assert len(lines) == 3
    missing = CliRunner().invoke(evaluate, [str(src), str(ref), str(tmp_path / "nope.png")])
    assert missing.exit_code == 1 and "Traceback" not in missing.output


def test_compare_writes_a_sheet_with_every_chosen_method(tmp_path, warm, cool):
    src, ref = _pair(tmp_path, warm, cool)
    sheet = tmp_path / "sheet.png"
    args = [str(src), str(ref), "-o", str(sheet), "--methods", "histogram,reinhard", "--width", "96"]
    result = CliRunner().invoke(compare, args)
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.output.splitlines()[:2]] == ["histogram", "reinhard"]
    image = read_image(sheet)
    assert image.ndim == 3 and image.shape[1] >= 2 * 96
    assert CliRunner().invoke(compare, args).exit_code == 1  # exists, no --overwrite
    bad = CliRunner().invoke(compare, [str(src), str(ref), "-o", str(tmp_path / "x.png"), "--methods", "magic"])
    assert bad.exit_code == 2 and "magic" in bad.output


def test_commands_have_help_with_an_example():
    for command in (evaluate, compare):
        result = CliRunner().invoke(command, ["--help"])
        assert result.exit_code == 0 and "Example" in result.output


def test_compare_passes_every_transfer_option_to_each_method(tmp_path, warm, cool):
    from imgot import transfer
    from imgot.sheet import evaluate as score

    src, ref = _pair(tmp_path, warm, cool)
    params = {"n_clusters": 8, "color_space": "rgb", "reg": 0.05, "reg_m": 0.5, "max_iter": 300, "n_iter": 5,
              "strength": 0.6, "preserve_luminance": True, "preserve_detail": False, "random_state": 4}
    flags = ["--clusters", 8, "--color-space", "rgb", "--reg", 0.05, "--reg-m", 0.5, "--max-iter", 300,
             "--n-iter", 5, "--strength", 0.6, "--preserve-luminance", "--no-detail", "--seed", 4]
    methods = ("emd", "unbalanced", "sliced", "linear")

    def run(output, *extra):
        args = [src, ref, "-o", tmp_path / output, "--width", 64, "--methods", ",".join(methods), *extra]
        return CliRunner().invoke(compare, [str(arg) for arg in args])

    result = run("sheet.png", *flags)
    assert result.exit_code == 0, result.output
    source, reference = read_image(src), read_image(ref)
    outputs = [transfer(source, reference, method=method, **params) for method in methods]
    printed = [line.split() for line in result.output.splitlines()[:len(methods)]]
    for row, method, scores in zip(printed, methods, score(source, reference, outputs)):
        assert row[0] == method and row[2] == f"{scores.color_distance:.2f}", (row, scores)
        assert row[3] == f"({scores.ratio:.3f})"
    # And they change the outputs: at strength 0 every method gives the source back.
    still = run("still.png", "--strength", 0, "--no-detail")
    assert still.exit_code == 0, still.output
    ratios = [line.split()[3] for line in still.output.splitlines()[:len(methods)]]
    assert ratios == ["(1.000)"] * len(methods)
