#!/usr/bin/env python3
"""Stage 1 of LightReasoner in PyTorch on a GPU, at the paper's shapes: the reference point for
`tools/bench/stage1-backends.ts` on a machine with a GPU (what a CUDA run of the same algorithm costs).

Random-weight Qwen2.5-Math-1.5B (Expert) and Qwen2.5-0.5B (Amateur) built from their exact configs
(tools/bench/paper.ts) with transformers, in bf16 as the paper computes, and Qwen's real tokenizer.
The algorithm is ours (METHOD.md), not the reference code's per-step loop: the Expert decodes greedily
(batched, KV cache, 128 new tokens; random weights never emit an end token, so every question costs
the full budget), then one teacher-forced pass of each model over prompt + continuation gives every
step's distribution, and each step's KL(pE||pA), plausible set (pE >= alpha * max pE) and contrastive
soft label are computed on the GPU and copied back, as `lightreasoner sample` writes them.

  python3 tools/bench/torch_stage1_gpu.py --tokenizer DIR/tokenizer.json --questions Q.jsonl --n 64 --batch 16,64
"""
import argparse
import json
import time

import torch
from tokenizers import Tokenizer
from transformers import Qwen2Config, Qwen2ForCausalLM

EXPERT = dict(vocab_size=151936, hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
              intermediate_size=8960, tie_word_embeddings=True, max_position_embeddings=4096, rope_theta=10000.0,
              rms_norm_eps=1e-6, hidden_act="silu")
AMATEUR = dict(vocab_size=151936, hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
               intermediate_size=4864, tie_word_embeddings=True, max_position_embeddings=32768, rope_theta=1000000.0,
               rms_norm_eps=1e-6, hidden_act="silu")
SYSTEM = "Please reason step by step."
PAD, IM_END, EOT = 151643, 151645, 151643


def model(cfg, seed):
    torch.manual_seed(seed)
    with torch.device("cuda"):
        m = Qwen2ForCausalLM(Qwen2Config(**cfg, torch_dtype="bfloat16"))
    return m.to(torch.bfloat16).eval()


def sync():
    torch.cuda.synchronize()


@torch.inference_mode()
def stage1(expert, amateur, prompts, batch, new_tokens, alpha, beta):
    t = {"Expert decode": 0.0, "Expert score": 0.0, "Amateur score": 0.0, "contrast + copy": 0.0}
    kept = steps = 0
    for b0 in range(0, len(prompts), batch):
        chunk = prompts[b0:b0 + batch]
        P = max(len(p) for p in chunk)
        ids = torch.full((len(chunk), P), PAD, dtype=torch.long, device="cuda")
        mask = torch.zeros_like(ids)
        for i, p in enumerate(chunk):  # left padding, as batched generation needs
            ids[i, P - len(p):] = torch.tensor(p, device="cuda")
            mask[i, P - len(p):] = 1
        sync(); t0 = time.perf_counter()
        out = expert.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                              do_sample=False, pad_token_id=PAD, eos_token_id=[IM_END, EOT])
        sync(); t1 = time.perf_counter(); t["Expert decode"] += t1 - t0
        full_mask = torch.cat([mask, torch.ones((len(chunk), out.shape[1] - P), dtype=mask.dtype, device="cuda")], 1)
        # One teacher-forced pass each; rows P-1 .. P+T-2 predict the T generated ids. Positions count
        # from each sequence's first real token, as generate() numbered them under left padding.
        inp, m = out[:, :-1], full_mask[:, :-1]
        pos = (m.cumsum(-1) - 1).clamp(min=0)
        le = expert(input_ids=inp, attention_mask=m, position_ids=pos).logits[:, P - 1:].float()
        sync(); t2 = time.perf_counter(); t["Expert score"] += t2 - t1
        la = amateur(input_ids=inp, attention_mask=m, position_ids=pos).logits[:, P - 1:].float()
        sync(); t3 = time.perf_counter(); t["Amateur score"] += t3 - t2
        lpe, lpa = torch.log_softmax(le, -1), torch.log_softmax(la, -1)
        pe = lpe.exp()
        kl = (pe * (lpe - lpa)).sum(-1)
        plausible = pe >= alpha * pe.max(-1, keepdim=True).values
        label = torch.softmax(torch.where(plausible, lpe - lpa, torch.full_like(lpe, float("-inf"))), -1)
        keep = kl >= beta
        # What the sampler writes: each kept step's plausible ids and their weights, copied to the host.
        pk = plausible[keep]
        ids_host, weights_host = pk.nonzero().cpu(), label[keep][pk].cpu()
        kept += int(keep.sum()); steps += keep.numel()
        del ids_host, weights_host
        sync(); t["contrast + copy"] += time.perf_counter() - t3
    return t, kept, steps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", required=True, help="Qwen's tokenizer.json")
    ap.add_argument("--questions", required=True, help='JSONL of {"question"}')
    ap.add_argument("--n", type=int, default=64, help="questions timed per batch size")
    ap.add_argument("--batch", default="16,64", help="comma-separated decode batch sizes")
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    tok = Tokenizer.from_file(a.tokenizer)
    qs = [json.loads(l)["question"] for l in open(a.questions) if l.strip()]
    qs = [qs[i % len(qs)] for i in range(a.n)]
    prompts = [tok.encode(f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n",
                          add_special_tokens=False).ids for q in qs]
    t0 = time.perf_counter()
    expert, amateur = model(EXPERT, 1), model(AMATEUR, 2)
    print(f"models built on {torch.cuda.get_device_name()} in {time.perf_counter() - t0:.1f} s; torch {torch.__version__}", flush=True)
    stage1(expert, amateur, prompts[:4], 4, 8, 0.2, 0.4)  # warm-up: kernels, allocator
    results = []
    for batch in [int(b) for b in a.batch.split(",")]:
        torch.cuda.reset_peak_memory_stats()
        sync(); t0 = time.perf_counter()
        phases, kept, steps = stage1(expert, amateur, prompts, batch, a.new_tokens, 0.2, 0.4)
        sync(); secs = time.perf_counter() - t0
        r = {"batch": batch, "questions": a.n, "seconds": secs, "secondsPerQuestion": secs / a.n,
             "projected1000QuestionsHours": secs / a.n * 1000 / 3600, "phases": phases, "kept": kept, "steps": steps,
             "expertGenerationTokensPerSecond": a.n * a.new_tokens / phases["Expert decode"],
             "peakGpuMemoryGiB": torch.cuda.max_memory_allocated() / 2**30}
        results.append(r)
        print(json.dumps(r), flush=True)
    if a.json:
        json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "results": results}, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
