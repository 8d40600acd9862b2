"""The command-line plumbing of every o2f tool and of the three tasks (det, seg, crowd).

The ONE task list (:data:`TASKS`), the ONE one-line argument parser
(:class:`OneLineArgumentParser`), config loading with checked ``--cfg-options`` and the
pretrained-weight fallback. Standard library at import time (mmengine is imported inside the
functions that need it), so the torch-free file mode of ``eval_crowd`` can use the parser.

Every user-facing failure (unknown option, missing file, a config of another task) is reported
as ONE line on stderr with exit code 2, never as a traceback: :class:`CliError` carries that line
and :func:`exit_on_cli_error` turns it into the exit code.
"""

from __future__ import annotations

import argparse
import functools
import os
import os.path as osp
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

TASKS = ('det', 'seg', 'crowd')
# Every o2f config declares which task it belongs to, so `tools/train.py seg configs/det/...`
# fails up front instead of training the wrong model.
TASK_KEY = 'o2f_task'
# Pretrained-weight probe: long enough for a reachable server, short enough not to stall start-up.
PRETRAINED_PROBE_TIMEOUT_S = 3.0
# `--cfg-options +key=value` adds a key the config does not have; without `+` unknown keys (typos
# such as `trian_cfg.max_epochs=5`) are refused.
NEW_KEY_PREFIX = '+'


class CliError(Exception):
    """A user error; its message is printed as one line and the process exits with code 2."""


class OneLineArgumentParser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (argparse prints usage + message by default).

    A bad argument raises :class:`CliError` (a main wrapped in :func:`exit_on_cli_error` prints
    it and returns 2). ``error_template`` formats the line from ``prog`` and ``message``; sub-
    parsers made by ``add_subparsers`` inherit it.
    """

    DEFAULT_ERROR_TEMPLATE = '{prog}: error: {message} (see {prog} --help)'

    def __init__(self, *args, error_template: str = DEFAULT_ERROR_TEMPLATE, **kwargs):
        super().__init__(*args, **kwargs)
        self.error_template = error_template

    def add_subparsers(self, **kwargs):  # noqa: D102 - sub-commands report errors the same way
        kwargs.setdefault('parser_class', functools.partial(
            OneLineArgumentParser, error_template=self.error_template))
        return super().add_subparsers(**kwargs)

    def error(self, message: str):  # noqa: D102 - argparse hook
        raise CliError(self.error_template.format(prog=self.prog, message=message))


def exit_on_cli_error(func: Callable[..., int]) -> Callable[..., int]:
    """Decorator for CLI mains: a :class:`CliError` becomes one stderr line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs) -> int:
        try:
            return func(*args, **kwargs)
        except CliError as err:
            print(str(err), file=sys.stderr, flush=True)
            return 2

    return wrapper


def check_task(task: str, where: str) -> None:
    """Raise a one-line :class:`CliError` unless ``task`` is one of :data:`TASKS`."""
    if task not in TASKS:
        raise CliError(f'{where}: unknown task {task!r}; choose one of {", ".join(TASKS)}')


def load_task_config(config_path: str, task: str, cfg_options: dict | None = None):
    """Load an o2f config, merge ``--cfg-options`` and check it belongs to ``task``.

    Args:
        config_path (str): path of a Python config file.
        task (str): expected value of the config's ``o2f_task`` key.
        cfg_options (dict | None): ``--cfg-options`` overrides (dotted keys).

    Returns:
        mmengine.Config: the merged config.

    Raises:
        CliError: missing file, unreadable config, or ``o2f_task`` missing / different.
    """
    from mmengine.config import Config

    if not osp.isfile(config_path):
        raise CliError(f'config file not found: {config_path} (pass the path of a .py config, '
                       f'e.g. configs/{task}/...)')
    try:
        cfg = Config.fromfile(config_path)
    except Exception as err:  # syntax errors, failed custom_imports, missing bases, ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else ''
        raise CliError(f'cannot load config {config_path}: {type(err).__name__}: {first}') from err
    found = cfg.get(TASK_KEY)
    if found != task:
        found_txt = 'no such key' if found is None else f'found {found!r}'
        raise CliError(f'config {config_path} is not a {task} config: expected '
                       f'{TASK_KEY} = {task!r} ({found_txt}); use tools/train.py '
                       f"{found if found in TASKS else '<task>'} or a configs/{task}/ config")
    if cfg_options:
        cfg_options = check_cfg_option_keys(cfg, cfg_options, config_path)
        try:
            cfg.merge_from_dict(cfg_options)
        except Exception as err:
            raise CliError(f'bad --cfg-options for {config_path}: {err}') from err
    return cfg


def _config_items(node):
    if isinstance(node, dict):
        return node
    return dict(node.items())  # mmengine.Config


def check_cfg_option_keys(cfg, cfg_options: dict, config_path: str = 'the config') -> dict:
    """Refuse ``--cfg-options`` keys that the config does not have (typos such as ``trian_cfg``).

    A genuinely new key is written ``+key=value``: the ``+`` is dropped and the key is accepted.
    List items are addressed by index (``train_pipeline.2.scale``). Arguments of mmengine's
    ``Runner`` (``work_dir``, ``randomness``, ...) are known top-level keys.

    Returns:
        dict: the options with the ``+`` markers removed.

    Raises:
        CliError: one line naming the unknown part of the key and the closest existing keys.
    """
    import difflib
    import inspect

    from mmengine.runner import Runner

    # Top-level keys mmengine's Runner reads (work_dir, randomness, ...) are known keys even
    # when the config leaves them at their defaults.
    runner_keys = set(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'}
    merged = {}
    for key, value in cfg_options.items():
        if key.startswith(NEW_KEY_PREFIX):
            merged[key[len(NEW_KEY_PREFIX):]] = value
            continue
        node = _config_items(cfg)
        parts = key.split('.')
        if parts[0] in runner_keys and parts[0] not in node:
            merged[key] = value
            continue
        for depth, part in enumerate(parts):
            here = '.'.join(parts[:depth + 1])
            if isinstance(node, list | tuple) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                continue
            if isinstance(node, dict) and part in node:
                node = node[part]
                continue
            if isinstance(node, dict):
                close = difflib.get_close_matches(part, [str(k) for k in node], n=1)
                hint = f" (did you mean {'.'.join(parts[:depth] + close)!r}?)" if close else ''
                what = f'{config_path} has no key {here!r}{hint}'
            elif isinstance(node, list | tuple):
                what = (f'{".".join(parts[:depth])} of {config_path} is a list of {len(node)} '
                        f'items, {part!r} is not an index of it')
            else:
                what = f'{".".join(parts[:depth])} of {config_path} is {node!r}, not a dict'
            raise CliError(f'unknown --cfg-options key {key!r}: {what}; to add a new key, '
                           f'write {NEW_KEY_PREFIX}{key}=VALUE')
        merged[key] = value
    return merged


def _leaf_paths(node, path: str = ''):
    """Yield ``(dotted path, value)`` of every entry of a nested dict/list config."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(
        node, list | tuple) else ()
    for key, value in items:
        child = f'{path}.{key}' if path else str(key)
        yield child, value
        yield from _leaf_paths(value, child)


def build_error_line(err: BaseException, cfg, what: str, cfg_options: dict | None = None) -> str:
    """One line for an error raised while mmengine builds ``what`` (model, dataset, runner).

    Names the config key: for an unknown registry ``type``, every key path whose ``type`` is it;
    otherwise the ``--cfg-options`` key (or else the config key) whose name the message mentions.
    The value checks themselves live in the constructors (e.g. ``O2FAssigner``), not here.
    """
    import re

    text = ' '.join(str(err.args[0] if isinstance(err, KeyError) and err.args else err).split())
    config_tree = _config_items(cfg)
    unknown = re.search(r'(\S+) is not in the (\S+) registry', text)
    if unknown:
        name = unknown.group(1).strip('\'"`')
        paths = [path[:-len('.type')] for path, value in _leaf_paths(config_tree)
                 if path.endswith('.type') and value == name]
        where = ', '.join(paths[:3]) if paths else 'the config'
        return (f'unknown type {name!r} in {where} (not in the {unknown.group(2)} registry); '
                'check the spelling, or add the module that registers it to custom_imports')
    # mmengine prefixes "class `X` in path.py: " once per nesting level; keep the innermost class
    classes = re.findall(r'class `(\w+)` in \S+: ', text)
    text = re.sub(r'class `\w+` in \S+: ', '', text)
    if isinstance(err, KeyError):  # str(KeyError) is quoted at every nesting level
        text = text.strip('\'"')
    if classes:
        text = f'{classes[-1]}: {text}'
    words = set(re.findall(r'\w+', text))
    keys = [key.lstrip(NEW_KEY_PREFIX) for key in (cfg_options or {})]
    named = [key for key in keys if key.split('.')[-1] in words]
    if not named:
        named = [path for path, _ in _leaf_paths(config_tree)
                 if path.split('.')[-1] in words and not path.split('.')[-1].isdigit()][:2]
    where = f" (config key {', '.join(named)})" if named else ''
    return f'cannot build the {what}{where}: {type(err).__name__}: {text}'


def iter_pretrained_init_cfgs(node, path: str = 'model'
                              ) -> Iterator[tuple[dict, str, str]]:
    """Yield ``(parent, path, checkpoint)`` for every Pretrained ``init_cfg`` in a config."""
    if isinstance(node, dict):
        init_cfg = node.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained' and isinstance(
                init_cfg.get('checkpoint'), str):
            yield node, path, init_cfg['checkpoint']
        for key, value in node.items():
            if key != 'init_cfg':
                yield from iter_pretrained_init_cfgs(value, f'{path}.{key}')
    elif isinstance(node, list | tuple):
        for index, value in enumerate(node):
            yield from iter_pretrained_init_cfgs(value, f'{path}.{index}')


def resolve_checkpoint_url(checkpoint: str) -> str:
    """Map mmengine's ``torchvision://`` / ``open-mmlab://`` names to the URL they download."""
    from mmengine.runner.checkpoint import get_external_models, get_torchvision_models

    if checkpoint.startswith('torchvision://'):
        return get_torchvision_models()[checkpoint[len('torchvision://'):]]
    for prefix in ('open-mmlab://', 'openmmlab://'):
        if checkpoint.startswith(prefix):
            return get_external_models()[checkpoint[len(prefix):]]
    return checkpoint


def pretrained_unavailable_reason(checkpoint: str,
                                  timeout_s: float = PRETRAINED_PROBE_TIMEOUT_S) -> str | None:
    """Why a Pretrained checkpoint cannot be loaded, or None when it can.

    A URL counts as available when its file is already in the torch hub cache (where mmengine
    downloads to) or the server answers a HEAD request within ``timeout_s``.
    """
    import torch

    try:
        url = resolve_checkpoint_url(checkpoint)
    except KeyError:
        return 'unknown model name'
    if not url.startswith(('http://', 'https://')):
        return None if osp.isfile(url) else 'file not found'
    cached = osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(url.split('?')[0]))
    if osp.isfile(cached):
        return None
    return _probe_url(url, timeout_s)


def _probe_url(url: str, timeout_s: float) -> str | None:
    """HEAD ``url``; None when it answers, else the reason. Never blocks much past ``timeout_s``.

    urllib's timeout does not cover DNS resolution, so the request runs in a daemon thread that
    is abandoned (not joined) when it overruns.
    """
    outcome: list[str | None] = []

    def probe() -> None:
        try:
            request = urllib.request.Request(url, method='HEAD')
            with urllib.request.urlopen(request, timeout=timeout_s):
                outcome.append(None)
        except urllib.error.HTTPError as err:
            outcome.append(f'HTTP {err.code}')
        except urllib.error.URLError as err:
            outcome.append(str(getattr(err, 'reason', err)))
        except OSError as err:  # timeouts, resets
            outcome.append(str(err) or type(err).__name__)

    thread = threading.Thread(target=probe, name='o2f-pretrained-probe', daemon=True)
    thread.start()
    thread.join(timeout_s + 0.5)
    if not outcome:
        return f'no answer within {timeout_s:g} s'
    return outcome[0]


def drop_unavailable_pretrained(cfg) -> list[str]:
    """Train from scratch where ImageNet weights cannot be fetched (offline machines).

    Prints ONE warning line per unavailable checkpoint and sets that ``init_cfg`` to None, so
    mmengine does not crash with a URLError traceback in ``init_weights``.

    Returns:
        list[str]: the warning lines printed.
    """
    warnings = []
    for parent, _path, checkpoint in list(iter_pretrained_init_cfgs(cfg.get('model'))):
        reason = pretrained_unavailable_reason(checkpoint)
        if reason is not None:
            line = (f'warning: ImageNet weights {checkpoint} unavailable ({reason}); '
                    'training from scratch')
            if os.environ.get('RANK', '0') == '0':  # one line per run, not one per process
                print(line, file=sys.stderr, flush=True)
            warnings.append(line)
            parent['init_cfg'] = None
    return warnings


def setup_launcher(cfg, launcher: str) -> None:
    """Configure mmengine for ``--launcher {none,pytorch}`` on CPU (gloo) or GPU (nccl).

    mmengine 0.10.7's own pytorch launcher calls ``torch.cuda.set_device`` and passes
    ``device_ids=[local_rank]`` to DDP, both of which fail on a CPU-only host; on CPU we therefore
    create the gloo process group ourselves (mmengine then skips its init) and wrap the model in
    DDP without device ids.
    """
    import torch

    cfg.launcher = launcher
    if launcher == 'none':
        return
    if 'RANK' not in os.environ or 'WORLD_SIZE' not in os.environ:
        raise CliError('--launcher pytorch needs the torchrun environment (RANK, WORLD_SIZE); '
                       'start with: torchrun --nproc_per_node=N tools/train.py ...')
    env_cfg = cfg.get('env_cfg') or {}
    dist_cfg = dict(env_cfg.get('dist_cfg') or {})
    if torch.cuda.is_available():
        dist_cfg['backend'] = 'nccl'
    else:
        import torch.distributed as dist

        dist_cfg['backend'] = 'gloo'
        if not dist.is_initialized():
            dist.init_process_group(backend='gloo')
        wrapper_cfg = dict(cfg.get('model_wrapper_cfg') or {})
        wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
        wrapper_cfg['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper_cfg
    env_cfg = dict(env_cfg)
    env_cfg['dist_cfg'] = dist_cfg
    cfg.env_cfg = env_cfg


def parse_cfg_options(values: list[str] | None) -> dict:
    """Parse ``key=value`` pairs with mmengine's DictAction rules (lists, tuples, numbers).

    Keys keep a leading ``+`` (a new key); :func:`load_task_config` checks and strips it.
    """
    from mmengine.config import DictAction

    if not values:
        return {}
    namespace = argparse.Namespace()
    try:
        DictAction(option_strings=['--cfg-options'], dest='cfg_options')(None, namespace, values)
    except Exception as err:
        raise CliError(f'bad --cfg-options {values!r}: {err} (expected key=value pairs)') from err
    return namespace.cfg_options


def default_work_dir(config_path: str) -> str:
    """``./work_dirs/<config name>`` as in mmdet's tools."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
