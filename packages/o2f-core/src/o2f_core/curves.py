"""Fig. 5 of the paper from training logs: AP after every epoch, without and with NMS, and T.

Reads mmengine's scalar logs of one or more work directories. A run writes
``WORK_DIR/<timestamp>/vis_data/<timestamp>.json`` (``scalars.json`` when the LoggerHook has no
JSON file name): one JSON object per line. Training lines carry ``loss``, ``loss_*``, ``epoch``,
``iter`` and ``o2f_temperature`` (logged by :class:`o2f_core.engine.O2FTemperatureHook`);
validation lines carry the evaluator's metrics and ``step`` (the epoch). A resumed run adds a
timestamp folder; folders are read in name (time) order and a later value of a step wins.

AP names: with the one-pass dual validation (:mod:`o2f_core.dual_nms`) ``<metric>`` is the AP
without NMS and ``nms/<metric>`` the AP with NMS (``NMS_PREFIX``); a run without it has only the
config's own setting, drawn solid.

Standard library + matplotlib (Agg) only: no torch, no mmengine.
"""

from __future__ import annotations

import glob
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .io import atomic_output

NMS_PREFIX = 'nms/'
# The AP drawn when the caller names none: the first one a run logs.
DEFAULT_AP_KEYS = ('coco/bbox_mAP', 'coco/segm_mAP', 'crowd/AP', 'crowd_human/mAP')
TEMPERATURE_KEY = 'o2f_temperature'
# Training keys that are not losses although they start like one.
_NOT_LOSS = ('loss_scale',)


class CurveLogError(ValueError):
    """A work directory without readable scalar logs; the message is one line."""


@dataclass
class RunCurves:
    """Per-epoch curves of one work directory.

    Attributes:
        name: label of the run (the work directory's name).
        val: epoch -> {metric name: value} of the validation lines.
        loss: epoch -> {loss name: mean over the epoch's logged iterations}.
        temperature: epoch -> T logged during that epoch (last value).
    """

    name: str
    val: dict[int, dict[str, float]] = field(default_factory=dict)
    loss: dict[int, dict[str, float]] = field(default_factory=dict)
    temperature: dict[int, float] = field(default_factory=dict)

    def metric(self, key: str) -> tuple[list[int], list[float]]:
        """(epochs, values) of one validation metric, epochs ascending."""
        epochs = sorted(e for e, values in self.val.items() if key in values)
        return epochs, [self.val[e][key] for e in epochs]

    def metric_keys(self) -> list[str]:
        keys: list[str] = []
        for epoch in sorted(self.val):
            keys += [k for k in self.val[epoch] if k not in keys]
        return keys

    def loss_keys(self) -> list[str]:
        keys: list[str] = []
        for epoch in sorted(self.loss):
            keys += [k for k in self.loss[epoch] if k not in keys]
        return keys


def scalar_files(work_dir: str | os.PathLike) -> list[str]:
    """The scalar log files of a work directory, oldest run first."""
    work_dir = os.fspath(work_dir)
    files = []
    for run_dir in sorted(glob.glob(os.path.join(glob.escape(work_dir), '*', 'vis_data'))):
        stamp = os.path.basename(os.path.dirname(run_dir))
        named = os.path.join(run_dir, f'{stamp}.json')
        fallback = os.path.join(run_dir, 'scalars.json')
        for candidate in (named, fallback):
            if os.path.isfile(candidate):
                files.append(candidate)
                break
    return files


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def read_run(work_dir: str | os.PathLike, name: str | None = None) -> RunCurves:
    """Parse the scalar logs of one work directory into per-epoch curves.

    Raises:
        CurveLogError: no scalar log under ``work_dir`` or a line that is not JSON.
    """
    work_dir = os.fspath(work_dir)
    files = scalar_files(work_dir)
    if not files:
        raise CurveLogError(f'no scalar log in {work_dir} (expected <timestamp>/vis_data/'
                            '<timestamp>.json or scalars.json); is it a training work_dir?')
    run = RunCurves(name or os.path.basename(os.path.normpath(work_dir)))
    sums: dict[int, dict[str, list[float]]] = {}
    for path in files:
        with open(path, encoding='utf-8') as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    raise CurveLogError(f'{path}:{number}: not a JSON line; is the log '
                                        'truncated?') from None
                if not isinstance(record, dict):
                    continue
                if 'epoch' in record and any(k.startswith('loss') for k in record):
                    epoch = int(record['epoch'])
                    bucket = sums.setdefault(epoch, {})
                    for key, value in record.items():
                        if key.startswith('loss') and key not in _NOT_LOSS and _is_number(value):
                            bucket.setdefault(key, []).append(float(value))
                    if _is_number(record.get(TEMPERATURE_KEY)):
                        run.temperature[epoch] = float(record[TEMPERATURE_KEY])
                elif 'step' in record and 'epoch' not in record:
                    metrics = {k: float(v) for k, v in record.items()
                               if '/' in k and _is_number(v)}
                    if metrics:
                        run.val.setdefault(int(record['step']), {}).update(metrics)
    run.loss = {epoch: {k: sum(v) / len(v) for k, v in bucket.items()}
                for epoch, bucket in sums.items()}
    return run


def default_ap_key(runs: Iterable[RunCurves]) -> str:
    """The first of :data:`DEFAULT_AP_KEYS` (else the first ``*mAP`` metric) a run logs."""
    keys = [k for run in runs for k in run.metric_keys()]
    for key in DEFAULT_AP_KEYS:
        if key in keys:
            return key
    for key in keys:
        if not key.startswith(NMS_PREFIX) and key.endswith('mAP'):
            return key
    raise CurveLogError('no AP metric in the validation logs (did validation run? set '
                        'train_cfg.val_interval=1)')


def plot_curves(runs: Sequence[RunCurves], out: str | os.PathLike, ap_key: str | None = None,
                inputs: Iterable[str] = ()) -> dict:
    """Draw Fig. 5 (AP vs epoch, solid w/o NMS, dashed w/ NMS, T on a second axis) and the
    training losses, side by side, into one image written atomically to ``out``.

    Args:
        runs: the parsed runs (one colour each).
        out: the image (``.png``, ``.pdf``, ``.svg``).
        ap_key: the metric (default: :func:`default_ap_key`); ``nms/<ap_key>`` is the dashed line.
        inputs: files the image must not overwrite (the scalar logs).

    Returns:
        dict: what was drawn, ``{run name: {'ap': [...], 'ap_nms': [...], 'T': [...],
        'losses': [...]}}`` (names of the drawn series, for the caller's message and tests).
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    ap_key = ap_key or default_ap_key(runs)
    figure, (ap_axis, loss_axis) = plt.subplots(1, 2, figsize=(12, 4.5))
    t_axis = None
    drawn: dict = {}
    colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for index, run in enumerate(runs):
        colour = colours[index % len(colours)]
        entry = drawn.setdefault(run.name, {'ap': [], 'ap_nms': [], 'T': [], 'losses': []})
        epochs, values = run.metric(ap_key)
        if epochs:
            ap_axis.plot(epochs, values, '-o', color=colour, label=f'{run.name} w/o NMS')
            entry['ap'] = values
        epochs, values = run.metric(NMS_PREFIX + ap_key)
        if epochs:
            ap_axis.plot(epochs, values, '--s', color=colour, label=f'{run.name} w/ NMS')
            entry['ap_nms'] = values
        if run.temperature:
            t_axis = t_axis or ap_axis.twinx()
            epochs = sorted(run.temperature)
            # training lines and validation steps both count epochs from 1
            t_axis.plot(epochs, [run.temperature[e] for e in epochs], ':', color=colour,
                        alpha=0.7, label=f'{run.name} T')
            entry['T'] = [run.temperature[e] for e in epochs]
        for key in run.loss_keys():
            epochs = sorted(e for e in run.loss if key in run.loss[e])
            style = '-' if key == 'loss' else '--'
            loss_axis.plot(epochs, [run.loss[e][key] for e in epochs], style, color=colour,
                           alpha=1.0 if key == 'loss' else 0.6, label=f'{run.name} {key}')
            entry['losses'].append(key)
    if not any(entry['ap'] or entry['ap_nms'] for entry in drawn.values()):
        plt.close(figure)
        raise CurveLogError(f'no run logged {ap_key} (metrics found: '
                            f'{", ".join(sorted({k for r in runs for k in r.metric_keys()}))})')
    ap_axis.set_xlabel('epoch')
    ap_axis.set_ylabel(f'{ap_key} (solid: w/o NMS, dashed: w/ NMS)')
    ap_axis.set_title('AP after every epoch')
    handles, labels = ap_axis.get_legend_handles_labels()
    if t_axis is not None:
        t_axis.set_ylabel('temperature T (dotted)')
        more_handles, more_labels = t_axis.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ap_axis.legend(handles, labels, fontsize='small', loc='lower right')
    loss_axis.set_xlabel('epoch')
    loss_axis.set_ylabel('training loss (mean over the epoch)')
    loss_axis.set_title('losses')
    if loss_axis.lines:
        loss_axis.legend(fontsize='x-small')
    figure.tight_layout()
    suffix = os.path.splitext(os.fspath(out))[1].lstrip('.').lower() or 'png'
    with atomic_output(out, inputs=inputs, what='--out') as temp_path:
        figure.savefig(temp_path, format=suffix, dpi=120)
    plt.close(figure)
    return drawn


def main(argv: Sequence[str] | None = None) -> int:
    """``tools/plot_curves.py WORK_DIR [WORK_DIR ...] --out fig5.png [--metric KEY]``."""
    import argparse
    import sys

    from .io import UnsafeOutputError

    parser = argparse.ArgumentParser(
        prog='tools/plot_curves.py',
        description='Fig. 5: AP vs epoch (solid w/o NMS, dashed w/ NMS) with T, and losses.')
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    parser.add_argument('--out', required=True, help='image to write (.png, .pdf, .svg)')
    parser.add_argument('--metric', help='AP metric to draw (default: coco/bbox_mAP, else the '
                        'first *mAP logged); the dashed line is nms/<metric>')
    parser.add_argument('--label', action='append',
                        help='legend name of each WORK_DIR, in order (default: folder name)')
    args = parser.parse_args(argv)
    if args.label and len(args.label) != len(args.work_dirs):
        print(f'tools/plot_curves.py: error: {len(args.label)} --label for '
              f'{len(args.work_dirs)} work dirs; give one per WORK_DIR', file=sys.stderr)
        return 2
    suffix = os.path.splitext(args.out)[1].lower()
    if suffix not in ('.png', '.pdf', '.svg'):
        print(f'tools/plot_curves.py: error: --out {args.out}: unknown image type '
              f'{suffix or "(none)"}; use .png, .pdf or .svg', file=sys.stderr)
        return 2
    try:
        runs, inputs = [], []
        for index, work_dir in enumerate(args.work_dirs):
            if not os.path.isdir(work_dir):
                raise CurveLogError(f'{work_dir} is not a folder; give training work_dirs')
            runs.append(read_run(work_dir, args.label[index] if args.label else None))
            inputs += scalar_files(work_dir)
        drawn = plot_curves(runs, args.out, args.metric, inputs=inputs)
    except (CurveLogError, UnsafeOutputError) as error:
        print(f'tools/plot_curves.py: error: {error}', file=sys.stderr)
        return 2
    for name, entry in drawn.items():
        print(f'{name}: {len(entry["ap"])} epochs w/o NMS, {len(entry["ap_nms"])} w/ NMS, '
              f'{len(entry["T"])} T values, losses {", ".join(entry["losses"]) or "-"}')
    print(f'wrote {args.out}')
    return 0
