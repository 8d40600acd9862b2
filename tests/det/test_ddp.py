"""Two-process CPU training (torchrun, gloo) through the shared runner: ranks stay identical."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip('mmdet')

TORCHRUN_TIMEOUT_S = 420


@pytest.mark.slow
def test_two_rank_gloo_training_keeps_ranks_identical(tiny_config, tmp_path, cli, cli_env,
                                                      python, repo):
    work_dir = tmp_path / 'ddp'
    work_dir.mkdir()
    proc = cli([python, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                str(repo / 'tests/det/ddp_probe.py'), str(tiny_config), str(work_dir)],
               cli_env, timeout=TORCHRUN_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-4000:]
    logs = proc.stdout + proc.stderr
    assert 'backend=gloo' in logs or 'Distributed launcher: pytorch' in logs
    assert 'Epoch(train) [3]' in logs  # 3 epochs, each rank 2 of the 4 images per epoch
    rank0 = torch.load(work_dir / 'rank0_weights.pth', weights_only=True)
    rank1 = torch.load(work_dir / 'rank1_weights.pth', weights_only=True)
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    # Training moved the weights (identical ranks are not just two untouched copies).
    from o2f_core.engine import load_local_checkpoint

    final = load_local_checkpoint(str(work_dir / 'epoch_3.pth'))['state_dict']
    first = load_local_checkpoint(str(work_dir / 'epoch_1.pth'))['state_dict']
    key = 'bbox_head.conv_cls.weight'
    assert torch.equal(final[key], rank0[key]) and not torch.equal(first[key], final[key])


@pytest.mark.slow
def test_two_ranks_of_two_images_give_the_losses_of_one_process_with_four(
        tmp_path, cli, cli_env, python, repo):
    """The normalisers (number of labelled points, sum of box weights) are averaged over the
    processes: 2 ranks x 2 images then optimise exactly the 1 x 4 image losses, although the two
    ranks label very different numbers of points."""
    import importlib.util
    import json

    out = tmp_path / 'losses.json'
    proc = cli([python, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                str(repo / 'tests/det/ddp_probe.py'), '--losses', str(out)],
               cli_env, timeout=TORCHRUN_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-4000:]
    two_ranks = json.loads(out.read_text())
    assert two_ranks['world_size'] == 2

    spec = importlib.util.spec_from_file_location('ddp_probe', repo / 'tests/det/ddp_probe.py')
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    one_process = probe.batch_losses([0, 1, 2, 3])
    assert set(two_ranks['mean_losses']) == set(one_process) == {'loss_cls', 'loss_bbox'}
    for name, value in one_process.items():
        assert two_ranks['mean_losses'][name] == pytest.approx(value, rel=1e-5), name
    # The ranks' own normalisers differ a lot: without the cross-process mean the rank-mean of
    # the losses would not match (checked: it is off by more than 10 %).
    rank0, rank1 = probe.batch_losses([0, 1]), probe.batch_losses([2, 3])
    assert abs((rank0['loss_cls'] + rank1['loss_cls']) / 2 - one_process['loss_cls']) > \
        0.1 * one_process['loss_cls']
