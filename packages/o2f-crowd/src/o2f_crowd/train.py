"""CrowdHuman training entrypoint: ``tools/train.py crowd CONFIG ...`` calls :func:`main`."""

from __future__ import annotations

from o2f_core.train_runner import run


def main(argv: list[str] | None = None) -> int:
    """Train an o2f CrowdHuman config; returns the exit code (2 on a user error)."""
    return run(argv, 'crowd')
