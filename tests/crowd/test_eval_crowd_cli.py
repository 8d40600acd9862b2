"""tools/eval_crowd.py: the table and JSON on the worked example, and every bad input case.

Bad input must give exit code 2, exactly one stderr line naming the file and line, and no JSON.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "eval_crowd.py"
WORKED = Path(__file__).resolve().parents[1] / "data" / "crowd_worked_example"
GT_LINE = ('{"ID": "a", "height": 100, "width": 100, "gtboxes": '
           '[{"tag": "person", "fbox": [0, 0, 20, 40]}]}')
DT_LINE = '{"ID": "a", "dtboxes": [{"box": [0, 0, 20, 40], "score": 0.9, "tag": 1}]}'
HUGE = "1" + "0" * 400  # a 401-digit integer: valid JSON, beyond float64


def run_tool(*args, env=None):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True,
                          text=True, timeout=120, env=env)


def test_worked_example_table_and_json(tmp_path):
    out = tmp_path / "sub" / "metrics.json"
    result = run_tool("--gt", WORKED / "gt.odgt", "--dt", WORKED / "dt.odgt", "--json", out)
    assert result.returncode == 0, result.stderr
    assert "| AP     | 0.2982 |" in result.stdout
    assert "| mMR    | 0.7646 |" in result.stdout
    assert "| Recall | 0.5556 |" in result.stdout
    assert "| JI     | 0.1667 |" in result.stdout
    assert "0 gt images without a detection record" in result.stdout
    metrics = json.loads(out.read_text())
    assert metrics["AP"] == 0.29821428571428577 and metrics["mMR"] == 0.7645695512713031
    assert metrics["Recall"] == 0.5555555555555556 and metrics["JI"] == 0.16666665000000166
    assert [p.name for p in out.parent.iterdir()] == ["metrics.json"]  # no temporary left over


def test_missing_detection_record_is_counted(tmp_path):
    gt = tmp_path / "gt.odgt"
    gt.write_text(GT_LINE + "\n" + GT_LINE.replace('"a"', '"b"') + "\n")
    dt = tmp_path / "dt.odgt"
    dt.write_text(DT_LINE + "\n")
    result = run_tool("--gt", gt, "--dt", dt)
    assert result.returncode == 0, result.stderr
    assert "1 gt images without a detection record" in result.stdout
    assert "| Recall | 0.5000 |" in result.stdout


def test_reads_mmdets_result_file_a_json_list(tmp_path):
    # mmdet's CrowdHumanMetric.results2json dumps the records as one JSON list (one line); the
    # worked example in that form gives the .odgt numbers exactly.
    records = [json.loads(line) for line in (WORKED / "dt.odgt").read_text().splitlines()
               if line.strip()]
    as_list = tmp_path / "result.json"
    as_list.write_text(json.dumps(records))
    out = tmp_path / "metrics.json"
    result = run_tool("--gt", WORKED / "gt.odgt", "--dt", as_list, "--json", out)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(out.read_text())
    assert metrics["AP"] == 0.29821428571428577 and metrics["mMR"] == 0.7645695512713031
    assert metrics["Recall"] == 0.5555555555555556 and metrics["JI"] == 0.16666665000000166
    # A bad record is named by its place in the list (the list may be one line).
    records[1]["dtboxes"][0]["score"] = "high"
    as_list.write_text("  \n" + json.dumps(records))
    result = run_tool("--gt", WORKED / "gt.odgt", "--dt", as_list)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: {as_list} record 2: image ") and \
        "has score \"high\"" in result.stderr
    records[1]["dtboxes"][0]["score"] = 0.5
    as_list.write_text(json.dumps([records[0], records[1], records[0]]))
    result = run_tool("--gt", WORKED / "gt.odgt", "--dt", as_list)
    assert result.returncode == 2 and f"{as_list} record 3: duplicate ID" in result.stderr
    assert f"(first at {as_list} record 1)" in result.stderr


BAD_CASES = {
    # name: (gt lines, dt lines, which file and line the error names, words in the message)
    "malformed_json": ([GT_LINE], [DT_LINE[:-5]], "dt.odgt:1:", "not valid JSON"),
    "malformed_gt_line": ([GT_LINE, "[1, 2]"], [DT_LINE], "gt.odgt:2:", "not an object"),
    "unknown_id": ([GT_LINE], [DT_LINE, "", DT_LINE.replace('"a"', '"zz"')], "dt.odgt:3:",
                   "image 'zz' is not in the ground truth"),
    "duplicate_dt_id": ([GT_LINE], [DT_LINE, DT_LINE], "dt.odgt:2:", "duplicate ID 'a'"),
    "duplicate_gt_id": ([GT_LINE, GT_LINE], [DT_LINE], "gt.odgt:2:", "duplicate ID 'a'"),
    "nan_box": ([GT_LINE], [DT_LINE.replace("[0, 0, 20, 40]", "[0, 0, NaN, 40]")], "dt.odgt:1:",
                "NaN or infinite"),
    "negative_size": ([GT_LINE], [DT_LINE.replace("[0, 0, 20, 40]", "[0, 0, 20, -4]")],
                      "dt.odgt:1:", "negative width or height"),
    "negative_gt_size": ([GT_LINE.replace("[0, 0, 20, 40]", "[0, 0, -20, 40]")], [DT_LINE],
                         "gt.odgt:1:", "negative width or height"),
    "empty_gt": ([], [DT_LINE], "gt.odgt:1:", "no records"),
    "no_person": ([GT_LINE.replace('"person"', '"mask"')], [DT_LINE], "gt.odgt:",
                  "has a 'person' box"),
    "no_image_size": ([GT_LINE.replace('"height": 100, "width": 100, ', "")], [DT_LINE],
                      "gt.odgt:1:", "no height/width"),
    "missing_score": ([GT_LINE], [DT_LINE.replace(', "score": 0.9', "")], "dt.odgt:1:",
                      "no 'box' or no 'score'"),
    # Numbers JSON allows but float64 cannot hold (a TypeError traceback before).
    "huge_int_box": ([GT_LINE], [DT_LINE.replace("[0, 0, 20, 40]", f"[0, 0, {HUGE}, 40]")],
                     "dt.odgt:1:", "'box' is [0, 0, <a 401-digit integer>, 40] with a NaN"),
    "huge_int_fbox": ([GT_LINE.replace("[0, 0, 20, 40]", f"[{HUGE}, 0, 20, 40]")], [DT_LINE],
                      "gt.odgt:1:", "'fbox' is [<a 401-digit integer>, 0, 20, 40] with a NaN"),
    "huge_int_score": ([GT_LINE], [DT_LINE.replace("0.9", HUGE)], "dt.odgt:1:",
                       "has score <a 401-digit integer>"),
    "huge_int_height": ([GT_LINE.replace('"height": 100', f'"height": {HUGE}')], [DT_LINE],
                        "gt.odgt:1:", "'height' is <a 401-digit integer>, not a positive number"),
    "giant_int": ([GT_LINE], [DT_LINE.replace("0.9", "1" * 5000)], "dt.odgt:1:",
                  "not valid JSON"),
    # 100k nested brackets (a RecursionError traceback before).
    "deep_nesting": ([GT_LINE], ["[" * 100_000], "dt.odgt:1:", "nested too deeply"),
    "deep_nesting_gt": (["{\"ID\": " + "[" * 100_000], [DT_LINE], "gt.odgt:1:",
                        "nested too deeply"),
    # Invalid JSON that the fast detection parser read as 30 before.
    "split_number": ([GT_LINE], [DT_LINE.replace("[0, 0, 20, 40]", "[0, 0, 2 0, 40]")],
                     "dt.odgt:1:", "not valid JSON"),
    # Booleans are not coordinates nor scores (numpy read true as 1 before).
    "bool_box": ([GT_LINE], [DT_LINE.replace("[0, 0, 20, 40]", "[true, 0, 20, 40]")],
                 "dt.odgt:1:", "'box' is [true, 0, 20, 40], not a list of 4 numbers"),
    "bool_fbox": ([GT_LINE.replace("[0, 0, 20, 40]", "[0, false, 20, 40]")], [DT_LINE],
                  "gt.odgt:1:", "'fbox' is [0, false, 20, 40], not a list of 4 numbers"),
    "bool_score": ([GT_LINE], [DT_LINE.replace(
        "1}]", '1}, {"box": [0, 0, 20, 40], "score": true, "tag": 1}]')], "dt.odgt:1:",
        "detection 1 has score true"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, case):
    gt_lines, dt_lines, where, words = BAD_CASES[case]
    gt, dt, out = tmp_path / "gt.odgt", tmp_path / "dt.odgt", tmp_path / "metrics.json"
    gt.write_text("".join(line + "\n" for line in gt_lines))
    dt.write_text("".join(line + "\n" for line in dt_lines))
    result = run_tool("--gt", gt, "--dt", dt, "--json", out)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {tmp_path / where}"), lines[0]
    assert words in lines[0] and "; " in lines[0]  # what is wrong; how to fix it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dt.odgt", "gt.odgt"]


def test_usage_errors_are_one_line_exit_2(tmp_path):
    for args in ([], ["--dt", WORKED / "dt.odgt"], ["--gt", tmp_path / "nope.odgt", "--dt", "x"],
                 ["--gt", "g", "--dt", "d", "--config", "c.py"],
                 ["--gt", WORKED / "gt.odgt", "--dt", WORKED / "dt.odgt", "--allow-partial"],
                 ["--gt", WORKED / "gt.odgt", "--dt", WORKED / "dt.odgt", "--workers", "3"]):
        result = run_tool(*args)
        assert result.returncode == 2
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")


def _inputs(tmp_path):
    gt, dt = tmp_path / "gt.odgt", tmp_path / "dt.odgt"
    gt.write_text(GT_LINE + "\n")
    dt.write_text(DT_LINE + "\n")
    return gt, dt


def _assert_refused(result, words):
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], result.stderr


@pytest.mark.parametrize("which", ["gt", "dt", "symlink_to_gt", "hardlink_to_dt"])
def test_json_that_is_an_input_is_refused_and_nothing_is_written(tmp_path, which):
    gt, dt = _inputs(tmp_path)
    target = {"gt": gt, "dt": dt, "symlink_to_gt": tmp_path / "link.json",
              "hardlink_to_dt": tmp_path / "hard.json"}[which]
    if which == "symlink_to_gt":
        target.symlink_to(gt)
    elif which == "hardlink_to_dt":
        os.link(dt, target)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    _assert_refused(run_tool("--gt", gt, "--dt", dt, "--json", target),
                    "is the same file as the input")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("json_arg,words", [
    ("", "--json: empty path"),
    ("{tmp}", "is a directory"),
    ("{tmp}/gt.odgt/metrics.json", "is a file, not a folder"),
])
def test_json_that_cannot_be_a_file_is_refused(tmp_path, json_arg, words):
    gt, dt = _inputs(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    _assert_refused(run_tool("--gt", gt, "--dt", dt, "--json", json_arg.format(tmp=tmp_path)),
                    words)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("which", ["gt", "config", "checkpoint"])
def test_model_mode_dt_that_is_an_input_is_refused_before_inference(tmp_path, which):
    gt, _ = _inputs(tmp_path)
    config, checkpoint = tmp_path / "cfg.py", tmp_path / "model.pth"
    config.write_text("canary = 1\n")
    checkpoint.write_bytes(b"canary")
    target = {"gt": gt, "config": config, "checkpoint": checkpoint}[which]
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    _assert_refused(run_tool("--gt", gt, "--config", config, "--checkpoint", checkpoint,
                             "--dt", target), "--dt")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("flag", ["--dt", "--json"])
def test_model_mode_output_that_is_the_configs_gt_is_refused_before_inference(tmp_path, flag):
    pytest.importorskip("mmdet")
    gt, _ = _inputs(tmp_path)
    checkpoint = tmp_path / "model.pth"
    checkpoint.write_bytes(b"not loaded: refused before")
    outputs = {"--dt": gt, "--json": None} if flag == "--dt" else {
        "--dt": tmp_path / "dets.odgt", "--json": gt}
    args = ["--config", REPO / "configs" / "crowd" / "o2f_r50_crowdhuman.py",
            "--checkpoint", checkpoint, "--dt", outputs["--dt"],
            "--cfg-options", f"test_dataloader.dataset.ann_file={gt}"]
    if outputs["--json"] is not None:
        args += ["--json", outputs["--json"]]
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    quiet = dict(os.environ, PYTHONWARNINGS="ignore")  # mmengine's pkg_resources warnings
    _assert_refused(run_tool(*args, env=quiet),
                    f"{flag} {gt} is the same file as the input {gt}")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
