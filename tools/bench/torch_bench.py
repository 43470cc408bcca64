#!/usr/bin/python3
"""PyTorch baseline for `npm run bench`: the same rows as our engine, on the same CPU.

Normally started by tools/bench/index.ts, which keeps it alive and interleaves its timed runs with
ours (JSON lines on stdin/stdout):

    /usr/bin/python3 tools/bench/torch_bench.py --serve --threads 2

It can also run a spec alone (blocks of repetitions, no interleaving), e.g. with the spec that
`npm run bench -- --json out.json` records under "spec":

    /usr/bin/python3 tools/bench/torch_bench.py --spec spec.json --json torch.json --reps 7

and check that its KV-cache decoding equals greedy decoding over the reference's full forward:

    /usr/bin/python3 tools/bench/torch_bench.py --check

The modelling code is the project's PyTorch reference (tools/reference/torch_reference.py, written
the Hugging Face way: eager attention, additive causal mask, repeat_kv); only the KV-cache path
for generation is added here, as transformers does it (past keys/values concatenated per layer,
logits of the last position only, as generate() asks for with logits_to_keep=1).

Fairness: the caller passes OPENBLAS_CORETYPE and OPENBLAS_NUM_THREADS in the environment (the
values our engine runs with; they must be set before OpenBLAS loads, i.e. before `import torch`).
float32 nn.Linear, mm and bmm go through libblas.so.3's sgemm, which Debian points at OpenBLAS;
`info` reports the kernel family in use. --threads sets torch's intra-op (OpenMP) threads; the
caller uses 1 (see tools/bench/torch-baseline.ts for why).
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the caller prints how to install the baseline
    print(json.dumps({"ok": False, "error": f"no torch: {e}", "missing_torch": True}), flush=True)
    sys.exit(3)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import torch_reference as ref  # noqa: E402  (the reference models, imported without side effects)

Runner = Callable[[], Tuple[float, int]]  # one timed repetition -> (seconds, units of work)


# =============================================================================================
# Models and inputs
# =============================================================================================

def build_model(hf_config: dict, seed: int) -> ref.CausalLM:
    """The reference model in float32 with transformers' initialisation (normal(0, initializer_range)
    for matrices and embeddings, zero biases, unit norms). The values do not change the work."""
    torch.manual_seed(seed)
    model = ref.CausalLM(hf_config)
    std = float(hf_config.get("initializer_range", 0.02))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            elif name.endswith(".bias"):
                p.zero_()
            else:
                p.normal_(0.0, std)
    return model.float()


def random_tokens(vocab: int, shape: Tuple[int, ...], seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, shape, generator=g, dtype=torch.int64)


def forward_cached(model: ref.CausalLM, input_ids: torch.Tensor,
                   cache: List[Optional[Tuple[torch.Tensor, torch.Tensor]]], start: int) -> torch.Tensor:
    """Continue every sequence of the batch after `start` cached positions: input_ids [batch, t]
    -> next-token logits [batch, vocab] of the last position. Updates `cache` in place, as
    transformers' DynamicCache (torch.cat of the new keys/values onto the layer's past)."""
    b, t = input_ids.shape
    h = model.model.embed_tokens(input_ids)
    position_ids = torch.arange(start, start + t).unsqueeze(0).expand(b, t)
    cos, sin = model.model.rotary_emb(h, position_ids)
    mask = None
    if t > 1:  # prefill: causal over the new rows (a single new row may see everything)
        allowed = torch.ones(t, start + t, dtype=torch.bool).tril(diagonal=start)
        mask = torch.zeros(t, start + t, dtype=h.dtype).masked_fill(~allowed, torch.finfo(h.dtype).min)
    for i, layer in enumerate(model.model.layers):
        attn = layer.self_attn
        residual = h
        x = layer.input_layernorm(h)
        shape = (b, t, -1, attn.head_dim)
        q = attn.q_proj(x).view(shape).transpose(1, 2)
        k = attn.k_proj(x).view(shape).transpose(1, 2)
        v = attn.v_proj(x).view(shape).transpose(1, 2)
        q, k = ref.apply_rotary_pos_emb(q, k, cos, sin)
        past = cache[i]
        if past is not None:
            k = torch.cat([past[0], k], dim=-2)
            v = torch.cat([past[1], v], dim=-2)
        cache[i] = (k, v)
        k = ref.repeat_kv(k, attn.num_key_value_groups)
        v = ref.repeat_kv(v, attn.num_key_value_groups)
        w = torch.matmul(q, k.transpose(2, 3)) * attn.scaling
        if mask is not None:
            w = w + mask
        w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        o = torch.matmul(w, v).transpose(1, 2).reshape(b, t, -1)
        h = residual + attn.o_proj(o)
        residual = h
        h = residual + layer.mlp(layer.post_attention_layernorm(h))
    h = model.model.norm(h[:, -1, :])
    return model.lm_head(h)


def greedy_generate(model: ref.CausalLM, prompts: torch.Tensor, new_tokens: int) -> torch.Tensor:
    """prompts [batch, prompt] (same length, no padding) -> generated ids [batch, new_tokens]."""
    cache: List[Optional[Tuple[torch.Tensor, torch.Tensor]]] = [None] * len(model.model.layers)
    out = torch.empty(prompts.shape[0], new_tokens, dtype=torch.int64)
    feed, pos = prompts, 0
    for step in range(new_tokens):
        logits = forward_cached(model, feed, cache, pos)
        nxt = logits.argmax(dim=-1)
        out[:, step] = nxt
        pos += feed.shape[1]
        feed = nxt.unsqueeze(1)
    return out


# =============================================================================================
# Rows: each builds its inputs once and returns a runner for one timed repetition
# =============================================================================================

def row_matmul(spec: dict, hf_config: dict) -> Runner:
    m, n, k = spec["m"], spec["n"], spec["k"]
    g = torch.Generator().manual_seed(spec["seed"])
    x = torch.randn(m, k, generator=g)
    w = torch.randn(n, k, generator=g)
    out = torch.empty(m, n)  # ours writes into a preallocated C too

    def run() -> Tuple[float, int]:
        t0 = time.perf_counter()
        torch.matmul(x, w.t(), out=out)
        return time.perf_counter() - t0, 1
    return run


def row_train(spec: dict, hf_config: dict) -> Runner:
    model = build_model(hf_config, spec["seed"])
    model.train()
    ids = random_tokens(hf_config["vocab_size"], (spec["batch"], spec["seq"]), spec["seed"] + 1)
    mask = torch.ones_like(ids)

    def run() -> Tuple[float, int]:
        t0 = time.perf_counter()
        model.zero_grad(set_to_none=True)
        loss = ref.ce_loss(model(ids, mask), ids, mask)
        loss.backward()
        return time.perf_counter() - t0, ids.numel()
    return run


def row_score(spec: dict, hf_config: dict) -> Runner:
    model = build_model(hf_config, spec["seed"])
    model.eval()
    ids = random_tokens(hf_config["vocab_size"], (1, spec["seq"]), spec["seed"] + 1)
    mask = torch.ones_like(ids)

    def run() -> Tuple[float, int]:
        t0 = time.perf_counter()
        with torch.inference_mode():
            F.log_softmax(model(ids, mask), dim=-1)
        return time.perf_counter() - t0, ids.numel()
    return run


def row_generate(spec: dict, hf_config: dict) -> Runner:
    model = build_model(hf_config, spec["seed"])
    model.eval()
    prompts = random_tokens(hf_config["vocab_size"], (spec["batch"], spec["prompt"]), spec["seed"] + 1)

    def run() -> Tuple[float, int]:
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = greedy_generate(model, prompts, spec["newTokens"])
        return time.perf_counter() - t0, out.numel()
    return run


ROW_KINDS: Dict[str, Callable[[dict, dict], Runner]] = {
    "matmul": row_matmul,
    "train": row_train,
    "score": row_score,
    "generate": row_generate,
}


# =============================================================================================
# Engine info: which BLAS kernel torch's sgemm lands in
# =============================================================================================

def mapped_libraries(*needles: str) -> List[str]:
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return []
    return sorted(p for p in paths if any(n in os.path.basename(p) for n in needles))


def engine_info() -> dict:
    info = {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "torch_threads": torch.get_num_threads(),
        "blas_info": "",
        "libraries": mapped_libraries("libblas", "libopenblas", "libmkl"),
        "openblas_core": None,
        "openblas_config": None,
        "openblas_threads": None,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
    }
    m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    if m:
        info["blas_info"] = m.group(1)
    openblas = [p for p in info["libraries"] if "openblas" in os.path.basename(p)]
    if openblas:
        # dlopen of an already-mapped library returns the same instance, so this asks the copy
        # that torch's sgemm calls.
        lib = ctypes.CDLL(openblas[0])
        for fn, key in (("openblas_get_corename", "openblas_core"), ("openblas_get_config", "openblas_config")):
            f = getattr(lib, fn, None)
            if f is not None:
                f.restype = ctypes.c_char_p
                info[key] = f().decode()
        f = getattr(lib, "openblas_get_num_threads", None)
        if f is not None:
            info["openblas_threads"] = int(f())
    return info


# =============================================================================================
# Drivers
# =============================================================================================

def prepare(row_id: str, spec: dict, hf_config: dict) -> Runner:
    kind = spec.get("kind")
    if kind not in ROW_KINDS:
        raise ValueError(f"row {row_id}: kind {kind!r} is not one of {sorted(ROW_KINDS)}")
    return ROW_KINDS[kind](spec, hf_config)


def serve() -> int:
    """One JSON request per stdin line, one JSON reply per stdout line:
    {"op": "info"} | {"op": "prepare", "row", "spec", "model"} | {"op": "run", "row"} | {"op": "quit"}."""
    runners: Dict[str, Runner] = {}
    print(json.dumps({"ok": True, "ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "quit":
                print(json.dumps({"ok": True}), flush=True)
                return 0
            if op == "info":
                reply = {"ok": True, "info": engine_info()}
            elif op == "prepare":
                runners[req["row"]] = prepare(req["row"], req["spec"], req["model"])
                reply = {"ok": True}
            elif op == "run":
                if req["row"] not in runners:
                    raise ValueError(f"row {req['row']} was not prepared")
                seconds, units = runners[req["row"]]()
                reply = {"ok": True, "seconds": seconds, "units": units}
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as e:  # reported to the caller, which names the row
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)
    return 0


def run_spec(spec_path: str, out_path: str, rows: Optional[List[str]], reps: int, warmup: int) -> int:
    with open(spec_path) as f:
        spec = json.load(f)
    results = []
    for row_id, row in spec["rows"].items():
        if rows and row_id not in rows:
            continue
        run = prepare(row_id, row, spec["model"])
        for _ in range(warmup):
            run()
        samples = [run() for _ in range(reps)]
        secs = sorted(s for s, _ in samples)
        results.append({"row": row_id, "seconds": [s for s, _ in samples], "units": samples[0][1],
                        "median_seconds": secs[len(secs) // 2] if len(secs) % 2 else (secs[len(secs) // 2 - 1] + secs[len(secs) // 2]) / 2})
        print(f"{row_id:14s} median {results[-1]['median_seconds'] * 1e3:9.2f} ms  ({reps} reps)", file=sys.stderr)
    with open(out_path, "w") as f:
        json.dump({"info": engine_info(), "results": results}, f, indent=2)
        f.write("\n")
    return 0


def self_check() -> int:
    """The KV-cache path must produce the tokens that re-running the reference's full forward on
    the growing sequence produces (greedy), including GQA and a batch."""
    cfg = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 101, "hidden_size": 32,
           "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 48,
           "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "rope_scaling": None, "tie_word_embeddings": False,
           "max_position_embeddings": 64, "initializer_range": 0.3}
    model = build_model(cfg, 1).eval()
    prompts = random_tokens(cfg["vocab_size"], (3, 5), 2)
    with torch.no_grad():
        cached = greedy_generate(model, prompts, 12)
        seq = prompts
        for _ in range(12):
            logits = model(seq, torch.ones_like(seq))[:, -1]
            seq = torch.cat([seq, logits.argmax(-1, keepdim=True)], dim=1)
    if not torch.equal(seq[:, prompts.shape[1]:], cached):
        print(f"FAIL: cached greedy {cached.tolist()} != full-forward greedy {seq[:, 5:].tolist()}")
        return 1
    print("ok  KV-cache greedy decoding equals greedy over the reference's full forward")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--serve", action="store_true", help="answer JSON-line requests on stdin (used by npm run bench)")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    ap.add_argument("--spec", help="bench spec JSON ({model, rows}) to run alone")
    ap.add_argument("--json", help="with --spec: write results here")
    ap.add_argument("--rows", help="with --spec: comma-separated row ids (default all)")
    ap.add_argument("--reps", type=int, default=7, help="with --spec: timed repetitions per row")
    ap.add_argument("--warmup", type=int, default=2, help="with --spec: untimed repetitions first")
    ap.add_argument("--check", action="store_true", help="verify the KV-cache path against the reference forward")
    args = ap.parse_args()
    if args.check:
        return self_check()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.serve:
        return serve()
    if not args.spec or not args.json:
        ap.error("give --serve, or --spec FILE --json FILE")
    return run_spec(args.spec, args.json, args.rows.split(",") if args.rows else None, args.reps, args.warmup)


if __name__ == "__main__":
    sys.exit(main())
