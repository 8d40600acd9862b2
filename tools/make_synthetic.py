"""Write the synthetic shapes dataset (COCO json + PNG, CrowdHuman .odgt + JPEG).

Usage:
    python tools/make_synthetic.py --out data/synthetic --seed 0 --num-train 400 --num-val 100 \
        --size 192 192 [--num-classes 3] [--overwrite]

The layout and conventions are documented in ``o2f_det.synthetic``. Same arguments, same bytes.
Exit status 2 with one error line on bad arguments.
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
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from o2f_det.synthetic import write_synthetic_dataset

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
    except (ValueError, FileExistsError) as error:
        print(f"make_synthetic: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {result['root']}: " + json.dumps(result["stats"], sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
