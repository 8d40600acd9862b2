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
