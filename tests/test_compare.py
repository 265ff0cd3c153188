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
