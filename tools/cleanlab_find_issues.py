"""Runs cleanlab's find_label_issues on labels and cross-validated class probabilities that dqe wrote.

The baseline of dqe's label-noise experiment (`dqe eval --inject-noise`): dqe computes out-of-fold
probabilities on the same embeddings it curates with, writes them as raw little-endian arrays, and
this script asks cleanlab which rows are label issues.

    python tools/cleanlab_find_issues.py --labels L.u32 --pred-probs P.f64 --rows N --classes K \
        [--filter-by prune_by_noise_rate] --out issues.json

Inputs: labels, uint32 array of shape (N,), class indices in [0, K); pred_probs, float64 array of
shape (N, K), row-major, each row the out-of-fold probabilities of the K classes.
Output: JSON {"cleanlab_version", "filter_by", "issues": [row indices flagged, ascending], "seconds"}.
"""

import argparse
import json
import sys
import time

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", required=True, help="uint32 class index per row (N,)")
    parser.add_argument("--pred-probs", required=True, help="float64 out-of-fold probabilities (N, K), row-major")
    parser.add_argument("--rows", type=int, required=True, help="N")
    parser.add_argument("--classes", type=int, required=True, help="K")
    parser.add_argument("--filter-by", default="prune_by_noise_rate", help="cleanlab's filter_by method")
    parser.add_argument("--out", required=True, help="where to write the JSON result")
    args = parser.parse_args()

    labels = np.fromfile(args.labels, dtype="<u4")
    probs = np.fromfile(args.pred_probs, dtype="<f8")
    if labels.shape != (args.rows,):
        print(f"{args.labels}: expected {args.rows} uint32 labels, found {labels.size}", file=sys.stderr)
        return 2
    if probs.size != args.rows * args.classes:
        print(f"{args.pred_probs}: expected {args.rows}x{args.classes} float64 values, found {probs.size}", file=sys.stderr)
        return 2
    probs = probs.reshape(args.rows, args.classes)

    import cleanlab
    from cleanlab.filter import find_label_issues

    started = time.perf_counter()
    mask = find_label_issues(labels=labels.astype(np.int64), pred_probs=probs, filter_by=args.filter_by)
    seconds = time.perf_counter() - started
    result = {
        "cleanlab_version": cleanlab.__version__,
        "filter_by": args.filter_by,
        "issues": [int(i) for i in np.flatnonzero(mask)],
        "seconds": seconds,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
