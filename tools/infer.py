#!/usr/bin/env python
"""Run a detector on images, folders of images and videos; write pictures with boxes and JSON.

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] [--out-dir DIR] [--score-thr 0.3]
                          [--nms] [--device D] [--coco-json] [--allow-partial]

INPUT is an image, a folder of images or a video file (read with OpenCV). Per input: the picture
(or video) with boxes (and masks for seg configs) and a JSON file (boxes xyxy, scores, labels,
class names from the dataset meta), or with ``--coco-json`` one COCO-results ``results.json``.
NMS-free by default; ``--nms`` applies the heads' NMS switch. The checkpoint loads strictly
(``--allow-partial`` to accept a partial one). Bad input (unreadable image, unsupported video,
wrong checkpoint): one error line, exit 2. The code is ``o2f_det.deploy.inference``.
"""

import sys

from o2f_det.deploy.inference import main

if __name__ == '__main__':
    sys.exit(main())
