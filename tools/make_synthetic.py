"""Write the synthetic shapes dataset (COCO json + PNG, CrowdHuman .odgt + JPEG).

Usage:
    python tools/make_synthetic.py --out data/synthetic --seed 0 --num-train 400 --num-val 100 \
        --size 192 192 [--num-classes 3] [--overwrite]

The layout and conventions are documented in ``o2f_det.synthetic``. Same arguments, same bytes.

``--out`` may be a new or empty directory; ``--overwrite`` replaces only a dataset this tool wrote
(its ``meta.json`` carries the generator's signature), after the new one is complete. Anything
else (a file, a symbolic link, a folder with other files, ``/``, the home or current directory,
the repository or an ancestor of these), more than 1,000,000 images or more than the disk holds:
one error line, exit status 2, nothing written or removed. Ctrl-C and SIGTERM remove the staging
folder. Exit status 2 with one error line on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys


class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line (no usage dump) and exits with 2."""

    def error(self, message):
        self.exit(2, f"make_synthetic: error: {message} (see --help)\n")


def parse_args(argv):
    parser = _OneLineParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="dataset directory to create")
    parser.add_argument("--seed", type=int, default=0, help="master seed (>= 0)")
    parser.add_argument("--num-train", type=int, default=400, help="training images (>= 1)")
    parser.add_argument("--num-val", type=int, default=100, help="validation images (>= 1)")
    parser.add_argument(
        "--size",
        type=int,
        nargs=2,
        default=(256, 256),
        metavar=("H", "W"),
        help="image height and width in pixels (32..4096)",
    )
    parser.add_argument("--num-classes", type=int, default=3, help="shape classes (1..4)")
    parser.add_argument("--max-objects", type=int, default=14, help="objects per image cap")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --out that this tool wrote (never anything else)",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from o2f_core.io import install_termination_handlers
    from o2f_det.synthetic import write_synthetic_dataset

    install_termination_handlers()  # SIGTERM removes the staging folder like Ctrl-C does
    try:
        result = write_synthetic_dataset(
            args.out,
            num_train=args.num_train,
            num_val=args.num_val,
            image_size=tuple(args.size),
            seed=args.seed,
            num_classes=args.num_classes,
            max_objects=args.max_objects,
            overwrite=args.overwrite,
        )
    except (ValueError, FileExistsError) as error:  # UnsafeOutputError is a ValueError
        print(f"make_synthetic: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. permission denied, disk full: nothing was left behind
        where = f" ({error.filename})" if error.filename else ""
        print(f"make_synthetic: error: cannot write {args.out}: {error.strerror}{where}; "
              "nothing was written", file=sys.stderr)
        return 2
    print(f"wrote {result['root']}: " + json.dumps(result["stats"], sort_keys=True))
    if result["old_tree_left"]:
        print(f"make_synthetic: warning: the replaced dataset could not be deleted completely; "
              f"what is left of it is in {result['old_tree_left']} (delete it yourself)",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
