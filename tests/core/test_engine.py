"""o2f_core.engine through mmengine's Runner: the temperature hook (also across a resume) and the
checkpoint save -> resume round trip on torch >= 2.6 (weights_only loading)."""

import pickle

import pytest
import torch
from torch import nn

mmengine = pytest.importorskip("mmengine")
from mmengine.hooks import Hook  # noqa: E402
from mmengine.logging.history_buffer import HistoryBuffer  # noqa: E402
from mmengine.model import BaseModel  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from o2f_core import linear_temperature  # noqa: E402
from o2f_core.engine import TRUST_ENV, load_local_checkpoint  # noqa: E402


class TinyHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.temperature = 0.6

    def set_temperature(self, temperature):
        self.temperature = temperature


class TinyModel(BaseModel):
    """Records (epoch-local step, T) at every training step."""

    def __init__(self):
        super().__init__()
        self.head = TinyHead()
        self.seen = []

    def forward(self, inputs, data_samples=None, mode="tensor"):
        if mode == "loss":
            self.seen.append(self.head.temperature)
            return dict(loss=self.head.linear(inputs).pow(2).mean())
        return self.head.linear(inputs)


class StopAfterEpoch(Hook):
    """Simulates a crash after an epoch's checkpoint was written."""

    priority = "LOWEST"  # after CheckpointHook (VERY_LOW)

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            raise KeyboardInterrupt(f"stopped after epoch {self.epoch}")


def make_runner(work_dir, name, max_epochs=12, resume=False, extra_hooks=(), by_epoch=True):
    dataset = [dict(inputs=torch.tensor([float(i), 1.0])) for i in range(2)]
    torch.manual_seed(0)  # the same initial weights in every run
    return Runner(
        model=TinyModel(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=dict(dataset=dataset, batch_size=2, num_workers=0,
                              sampler=dict(type="DefaultSampler", shuffle=False),
                              collate_fn=dict(type="default_collate")),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
        train_cfg=(dict(by_epoch=True, max_epochs=max_epochs) if by_epoch
                   else dict(by_epoch=False, max_iters=max_epochs)),
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=1, by_epoch=by_epoch),
                           logger=dict(type="LoggerHook", interval=1)),
        custom_hooks=[dict(type="O2FTemperatureHook", t_max=0.6, t_min=0.2, by_epoch=by_epoch),
                      *extra_hooks],
        resume=resume,
        default_scope="mmengine",
        randomness=dict(seed=0),
        log_level="WARNING",
    )


def test_hook_follows_epochs_and_resume_gives_the_same_values(tmp_path):
    straight = make_runner(tmp_path / "straight", "o2f_straight")
    straight.train()
    expected = [linear_temperature(e, 12) for e in range(12)]
    assert straight.model.seen == pytest.approx(expected)  # one step per epoch
    assert straight.message_hub.get_scalar("train/o2f_temperature").current() == \
        pytest.approx(0.2)

    interrupted = make_runner(tmp_path / "resumed", "o2f_first_half",
                              extra_hooks=[StopAfterEpoch(5)])
    with pytest.raises(KeyboardInterrupt):
        interrupted.train()
    assert interrupted.model.seen == pytest.approx(expected[:5])
    assert (tmp_path / "resumed" / "epoch_5.pth").exists()

    resumed = make_runner(tmp_path / "resumed", "o2f_second_half", resume=True)
    resumed.train()  # loads epoch_5.pth through o2f_core's weights_only loader
    assert resumed.model.seen == pytest.approx(expected[5:])
    torch.testing.assert_close(resumed.model.head.linear.weight,
                               straight.model.head.linear.weight)


def test_hook_follows_iterations_when_not_by_epoch(tmp_path):
    runner = make_runner(tmp_path, "o2f_iters", max_epochs=5, by_epoch=False)
    runner.train()
    assert runner.model.seen == pytest.approx([0.6, 0.5, 0.4, 0.3, 0.2])


def test_checkpoints_load_with_weights_only_and_no_getattr(tmp_path):
    runner = make_runner(tmp_path, "o2f_ckpt", max_epochs=1)
    runner.train()
    path = tmp_path / "epoch_1.pth"
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    assert not any("getattr" in name for name in unsafe)
    checkpoint = load_local_checkpoint(str(path))
    assert checkpoint["meta"]["epoch"] == 1
    assert isinstance(checkpoint["message_hub"]["log_scalars"]["train/loss"], HistoryBuffer)
    # mmengine re-registers the statistics on unpickling: the buffer still works.
    assert checkpoint["message_hub"]["log_scalars"]["train/loss"].mean() > 0


def test_foreign_checkpoint_fails_clearly_unless_trusted(tmp_path, monkeypatch):
    path = tmp_path / "foreign.pth"
    # A stock mmengine HistoryBuffer pickles its statistics as getattr(HistoryBuffer, 'min').
    torch.save({"state_dict": {}, "meta": {"stat": HistoryBuffer.min}}, str(path))
    monkeypatch.delenv(TRUST_ENV, raising=False)
    with pytest.raises(pickle.UnpicklingError, match=f"allow-list.*{TRUST_ENV}=1"):
        load_local_checkpoint(str(path))
    monkeypatch.setenv(TRUST_ENV, "1")
    assert load_local_checkpoint(str(path))["meta"]["stat"] is HistoryBuffer.min
