"""o2f_core.engine through mmengine's Runner: the temperature hook (also across a resume) and the
checkpoint save -> resume round trip on torch >= 2.6 (weights_only loading)."""

import os
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
from o2f_core.engine import (  # noqa: E402
    TRUST_ENV,
    install_checkpoint_support,
    load_local_checkpoint,
)

# What the runners do before they save or resume (importing o2f_core.engine changes nothing).
install_checkpoint_support()


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


def test_top_level_o2f_temperature_key_sets_t_by_name(tmp_path):
    runner = make_runner(tmp_path, "o2f_named_t", max_epochs=4)
    runner.cfg["o2f_temperature"] = dict(t_max=0.9, t_min=0.3)  # the hook itself says 0.6/0.2
    runner.train()
    assert runner.model.seen == pytest.approx([0.9, 0.7, 0.5, 0.3])

    runner = make_runner(tmp_path / "one", "o2f_named_t_min", max_epochs=3)
    runner.cfg["o2f_temperature"] = dict(t_min=0.4)  # t_max stays the hook's 0.6
    runner.train()
    assert runner.model.seen == pytest.approx([0.6, 0.5, 0.4])

    runner = make_runner(tmp_path / "bad", "o2f_named_bad", max_epochs=1)
    runner.cfg["o2f_temperature"] = dict(tmax=0.9)
    with pytest.raises(ValueError, match="unknown key"):
        runner.train()


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


# ---------------------------------------------------------------------------------------------
# Broken checkpoints, strict loading, the non-finite loss stop

from o2f_core.engine import (  # noqa: E402
    CheckpointError,
    CheckpointMismatchError,
    NonFiniteLossError,
    UntrustedCheckpointError,
    load_checkpoint_strict,
)


def _write_broken(tmp_path, kind):
    path = tmp_path / f"{kind}.pth"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is a README, not weights\n")
    elif kind == "random":
        path.write_bytes(bytes(range(256)) * 20)
    elif kind == "truncated":
        whole = tmp_path / "whole.pth"
        torch.save({"state_dict": {"w": torch.zeros(100)}}, str(whole))
        data = whole.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "tensor":
        torch.save(torch.zeros(3), str(path))
    elif kind == "no_weights":
        torch.save({"meta": {"epoch": 3}}, str(path))
    return path


@pytest.mark.parametrize("kind", ["empty", "text", "random", "truncated", "tensor", "no_weights"])
def test_broken_checkpoints_are_not_valid_and_get_no_trust_advice(tmp_path, kind, monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    path = _write_broken(tmp_path, kind)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint_strict(nn.Linear(2, 1), str(path))
    message = str(info.value)
    assert message.startswith(f"not a valid checkpoint: {path} (")
    assert "\n" not in message and TRUST_ENV not in message
    assert not isinstance(info.value, UntrustedCheckpointError)


def test_disallowed_global_still_gets_the_allow_list_advice(tmp_path, monkeypatch):
    path = tmp_path / "crafted.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "x": os.system}, str(path))
    monkeypatch.delenv(TRUST_ENV, raising=False)
    with pytest.raises(UntrustedCheckpointError, match=f"GLOBAL (posix|os).system.*{TRUST_ENV}=1"):
        load_checkpoint_strict(nn.Linear(2, 1), str(path))


class BNNet(nn.Module):
    def __init__(self, width=3):
        super().__init__()
        self.fc = nn.Linear(width, 2)
        self.bn = nn.BatchNorm1d(2)


def test_strict_load_refuses_other_models_and_allow_partial_reports(tmp_path, capsys):
    source = BNNet()
    with torch.no_grad():
        source.fc.weight.fill_(0.5)
    # mmengine layout, DDP prefix, no BN step counter: all harmless.
    state = {f"module.{k}": v for k, v in source.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    good = tmp_path / "good.pth"
    torch.save({"state_dict": state, "meta": {}}, str(good))
    target = BNNet()
    load_checkpoint_strict(target, str(good))
    assert torch.equal(target.fc.weight, torch.full((2, 3), 0.5))

    foreign = tmp_path / "foreign.pth"
    torch.save({"foo": torch.zeros(2), "fc.weight": torch.ones(2, 4)}, str(foreign))
    target = BNNet()
    before = target.bn.weight.clone()
    with pytest.raises(CheckpointMismatchError) as info:
        load_checkpoint_strict(target, str(foreign))
    message = str(info.value)
    # model keys: fc.weight fc.bias bn.weight bn.bias bn.running_mean bn.running_var
    assert "5 of the model's 7 weights missing (fc.bias, bn.weight, bn.bias, ...)" in message
    assert "1 unexpected keys (foo)" in message
    assert "1 shape mismatches (fc.weight: checkpoint (2, 4), model (2, 3))" in message
    assert "--allow-partial" in message and "\n" not in message

    partial = tmp_path / "partial.pth"
    torch.save({"fc.weight": torch.ones(2, 3), "extra": torch.zeros(1)}, str(partial))
    target = BNNet()
    load_checkpoint_strict(target, str(partial), allow_partial=True)
    assert torch.equal(target.fc.weight, torch.ones(2, 3))  # the matching weight was loaded
    assert torch.equal(target.bn.weight, before)
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"warning: partial load of {partial}: 5 of the model's 7 weights "
                          "missing (fc.bias, bn.weight, bn.bias, ...); 1 unexpected keys (extra)")


class NaNAtStep(Hook):
    """Makes the model's loss NaN from the given (1-based) iteration on."""

    priority = "HIGHEST"

    def __init__(self, step):
        self.step = step

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = runner.model
        model.nan = runner.iter + 1 >= self.step


class NaNModel(TinyModel):
    nan = False

    def forward(self, inputs, data_samples=None, mode="tensor"):
        out = super().forward(inputs, data_samples, mode)
        if mode == "loss":
            out = dict(loss_box=out["loss"] * (float("nan") if self.nan else 1.0),
                       loss_cls=out["loss"])
        return out


def test_finite_loss_hook_stops_before_a_nan_checkpoint(tmp_path):
    torch.manual_seed(0)
    runner = Runner(
        model=NaNModel(),
        work_dir=str(tmp_path),
        experiment_name="o2f_nan",
        train_dataloader=dict(dataset=[dict(inputs=torch.tensor([1.0, 1.0]))] * 2, batch_size=2,
                              num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
                              collate_fn=dict(type="default_collate")),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=5),
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=1)),
        custom_hooks=[dict(type="O2FFiniteLossHook"), NaNAtStep(3)],
        default_scope="mmengine", log_level="WARNING")
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    assert str(info.value).startswith(
        "training stopped: non-finite loss loss_box = nan at iteration 3 (epoch 3)")
    assert sorted(p.name for p in tmp_path.glob("*.pth")) == ["epoch_1.pth", "epoch_2.pth"]
    assert (tmp_path / "last_checkpoint").read_text().strip().endswith("epoch_2.pth")


def test_finite_loss_hook_refuses_to_save_non_finite_weights():
    from o2f_core.engine import O2FFiniteLossHook

    class FakeRunner:
        iter, epoch = 4, 1

    hook = O2FFiniteLossHook()
    hook.before_save_checkpoint(FakeRunner(), {"state_dict": {"w": torch.ones(2)}})
    with pytest.raises(NonFiniteLossError, match="weight w is NaN/inf at iteration 4"):
        hook.before_save_checkpoint(FakeRunner(), {"state_dict": {"w": torch.tensor([1.0,
                                                                                    float("inf")])}})
