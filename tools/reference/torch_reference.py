#!/usr/bin/python3
"""Independent numerical reference for lightreasoner's CPU engine, in plain PyTorch.

Regenerate every fixture (deterministic, single-threaded, a few seconds):

    /usr/bin/python3 tools/reference/torch_reference.py --out fixtures/torch

Validate the written fixtures (own safetensors reader, float64 finite differences, padding/causal
leak tests, a second naive NumPy forward):

    /usr/bin/python3 tools/reference/torch_reference.py --out fixtures/torch --check

The modelling code mirrors Hugging Face transformers' `modeling_qwen2.py` / `modeling_llama.py`
(eager attention path) and `modeling_rope_utils._compute_llama3_parameters`; the adapter mirrors
PEFT's `lora.Linear`. Neither package is imported (they are not installed here): the point of the
fixtures is that their numbers come from code we did not derive from our TypeScript engine.
Nothing from the TypeScript tree is read. See tools/reference/README.md for the fixture schema.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import struct
import sys
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

COMMAND = "/usr/bin/python3 tools/reference/torch_reference.py --out fixtures/torch"

# =============================================================================================
# Fixture definitions
# =============================================================================================

FIXTURES: List[dict] = [
    dict(name="qwen2-untied-f32", arch="qwen2", vocab=97, hidden=32, layers=2, heads=4, kv_heads=2,
         intermediate=64, rope_theta=10000.0, rope_scaling=None, tie=False, dtype="float32",
         eps=1e-6, seed=1001),
    dict(name="qwen2-tied-bf16", arch="qwen2", vocab=97, hidden=32, layers=2, heads=4, kv_heads=2,
         intermediate=64, rope_theta=10000.0, rope_scaling=None, tie=True, dtype="bfloat16",
         eps=1e-6, seed=1002),
    # head_dim 8, theta 5e5: inv_freq = [1, 3.76e-2, 1.41e-3, 5.3e-5], wavelengths [6.3, 167, 4.4e3,
    # 1.2e5]. With original_max_position_embeddings 16 (high/low wavelen 4/16) the first frequency
    # is in the smoothed band and the other three are divided by `factor`, so every branch of the
    # llama3 rule is exercised.
    dict(name="llama-untied-f32-llama3rope", arch="llama", vocab=101, hidden=48, layers=2, heads=6,
         kv_heads=2, intermediate=80, rope_theta=500000.0,
         rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                       "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
         tie=False, dtype="float32", eps=1e-5, seed=1003),
    dict(name="llama-tied-f16", arch="llama", vocab=64, hidden=32, layers=1, heads=4, kv_heads=4,
         intermediate=64, rope_theta=10000.0, rope_scaling=None, tie=True, dtype="float16",
         eps=1e-5, seed=1004),
]

MAX_POSITIONS = 64
LENGTHS = [9, 6, 3]          # right-padded batch [3, 9]
PAD_ID = 0
KL_POSITIONS = [(0, 4), (0, 8), (1, 5), (2, 2)]
KL_TOPK = 3
LORA_R = 4
LORA_ALPHA = 8
LORA_DROPOUT = 0.0
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LORA_B_STD = 0.1
WEIGHT_STD = 0.2
NORM_STD = 0.1
BIAS_STD = 0.1
TRAIN_STEPS = 10
TRAIN_LR = 1e-2
TRAIN_BETAS = (0.9, 0.999)
TRAIN_EPS = 1e-8
TRAIN_WEIGHT_DECAY = 0.0
MAX_GRAD_NORM = 1.0

TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

# =============================================================================================
# safetensors: minimal writer and reader (no `safetensors` package here)
# =============================================================================================

_ST_CODE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
_ST_NP = {"F32": "<f4", "F16": "<f2", "BF16": "<i2", "I64": "<i8"}


def _tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().contiguous().cpu()
    # numpy has no bfloat16: move the raw 16-bit patterns instead.
    arr = t.view(torch.int16).numpy() if t.dtype == torch.bfloat16 else t.numpy()
    return arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()


def write_safetensors(path: str, tensors: Dict[str, torch.Tensor], metadata: Optional[Dict[str, str]] = None) -> None:
    """8-byte LE header length, JSON header (padded with spaces to a multiple of 8), raw LE data."""
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs: List[bytes] = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype not in _ST_CODE:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {t.dtype}")
        b = _tensor_bytes(t)
        header[name] = {"dtype": _ST_CODE[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Tensors in their stored dtype, plus the metadata. Validates offsets and sizes."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    if n % 8 != 0:
        raise ValueError(f"{path}: header length {n} is not a multiple of 8")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out: Dict[str, torch.Tensor] = {}
    expected_begin = 0
    entries = sorted(((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0])
    for name, info in entries:
        begin, end = info["data_offsets"]
        if begin != expected_begin:
            raise ValueError(f"{path}: tensor {name} starts at {begin}, expected {expected_begin} (gap or overlap)")
        expected_begin = end
        np_dtype = np.dtype(_ST_NP[info["dtype"]])
        count = int(np.prod(info["shape"], dtype=np.int64))
        if end - begin != count * np_dtype.itemsize:
            raise ValueError(f"{path}: tensor {name} holds {end - begin} bytes, expected {count * np_dtype.itemsize}")
        arr = np.frombuffer(data, dtype=np_dtype, count=count, offset=base + begin).copy().reshape(info["shape"])
        t = torch.from_numpy(arr.astype(np_dtype.newbyteorder("=")))
        if info["dtype"] == "BF16":
            t = t.view(torch.bfloat16)
        out[name] = t
    if base + expected_begin != len(data):
        raise ValueError(f"{path}: {len(data) - base - expected_begin} trailing bytes after the last tensor")
    return out, header.get("__metadata__", {})


# =============================================================================================
# Model: Qwen2 / Llama decoder as in transformers (eager attention)
# =============================================================================================

def head_dim(cfg: dict) -> int:
    return cfg["hidden_size"] // cfg["num_attention_heads"]


def acc_dtype(t: torch.Tensor) -> torch.dtype:
    """transformers upcasts norms and softmax to float32; the float64 self-check keeps float64."""
    return torch.float64 if t.dtype == torch.float64 else torch.float32


class RMSNorm(nn.Module):
    """Qwen2RMSNorm / LlamaRMSNorm."""

    def __init__(self, hidden_size: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(acc_dtype(hidden_states))
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


def default_inv_freq(cfg: dict) -> torch.Tensor:
    """modeling_rope_utils._compute_default_rope_parameters (float32)."""
    dim = head_dim(cfg)
    base = cfg["rope_theta"]
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def llama3_inv_freq(cfg: dict) -> torch.Tensor:
    """modeling_rope_utils._compute_llama3_parameters, step for step (float32 tensors)."""
    inv_freq = default_inv_freq(cfg)
    rs = cfg["rope_scaling"]
    factor = rs["factor"]
    low_freq_factor = rs["low_freq_factor"]
    high_freq_factor = rs["high_freq_factor"]
    old_context_len = rs["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)


def rope_inv_freq(cfg: dict) -> torch.Tensor:
    rs = cfg.get("rope_scaling")
    if rs is None or rs.get("rope_type", rs.get("type")) == "default":
        return default_inv_freq(cfg)
    if rs.get("rope_type", rs.get("type")) == "llama3":
        return llama3_inv_freq(cfg)
    raise ValueError(f"unsupported rope_scaling {rs}")


class RotaryEmbedding(nn.Module):
    """LlamaRotaryEmbedding / Qwen2RotaryEmbedding; attention_scaling is 1.0 for default and llama3."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.register_buffer("inv_freq", rope_inv_freq(cfg), persistent=False)
        self.attention_scaling = 1.0

    @torch.no_grad()
    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        inv_freq_expanded = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        position_ids_expanded = position_ids[:, None, :].float()
        freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = emb.cos() * self.attention_scaling
        sin = emb.sin() * self.attention_scaling
        return cos.to(dtype=x.dtype), sin.to(dtype=x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim: int = 1):
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


def repeat_kv(hidden_states: torch.Tensor, n_rep: int) -> torch.Tensor:
    batch, num_key_value_heads, slen, hd = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, num_key_value_heads, n_rep, slen, hd)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, hd)


def causal_padding_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[batch, 1, q, k] additive mask: 0 where k <= q and key k is not padding, finfo(dtype).min elsewhere."""
    b, s = attention_mask.shape
    causal = torch.tril(torch.ones(s, s, dtype=torch.bool))
    allowed = causal[None, None, :, :] & attention_mask[:, None, None, :].bool()
    mask = torch.zeros(b, 1, s, s, dtype=dtype)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


class Attention(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.head_dim = head_dim(cfg)
        self.num_key_value_groups = cfg["num_attention_heads"] // cfg["num_key_value_heads"]
        self.scaling = self.head_dim ** -0.5
        h, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        if cfg["model_type"] == "qwen2":
            qkv_bias, o_bias = True, False
        else:
            qkv_bias = o_bias = bool(cfg.get("attention_bias", False))
        self.q_proj = nn.Linear(h, nh * self.head_dim, bias=qkv_bias)
        self.k_proj = nn.Linear(h, nkv * self.head_dim, bias=qkv_bias)
        self.v_proj = nn.Linear(h, nkv * self.head_dim, bias=qkv_bias)
        self.o_proj = nn.Linear(nh * self.head_dim, h, bias=o_bias)

    def forward(self, hidden_states, cos, sin, attention_mask):
        input_shape = hidden_states.shape[:-1]
        hidden_shape = (*input_shape, -1, self.head_dim)
        query_states = self.q_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        key_states = self.k_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        value_states = self.v_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin)
        key_states = repeat_kv(key_states, self.num_key_value_groups)
        value_states = repeat_kv(value_states, self.num_key_value_groups)
        attn_weights = torch.matmul(query_states, key_states.transpose(2, 3)) * self.scaling
        attn_weights = attn_weights + attention_mask
        attn_weights = F.softmax(attn_weights, dim=-1, dtype=acc_dtype(query_states)).to(query_states.dtype)
        attn_output = torch.matmul(attn_weights, value_states)
        attn_output = attn_output.transpose(1, 2).contiguous().reshape(*input_shape, -1)
        return self.o_proj(attn_output)


class MLP(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        h, i = cfg["hidden_size"], cfg["intermediate_size"]
        bias = bool(cfg.get("mlp_bias", False))
        self.gate_proj = nn.Linear(h, i, bias=bias)
        self.up_proj = nn.Linear(h, i, bias=bias)
        self.down_proj = nn.Linear(i, h, bias=bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def forward(self, hidden_states, cos, sin, attention_mask):
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        hidden_states = residual + self.self_attn(hidden_states, cos, sin, attention_mask)
        residual = hidden_states
        hidden_states = self.post_attention_layernorm(hidden_states)
        return residual + self.mlp(hidden_states)


class DecoderModel(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.rotary_emb = RotaryEmbedding(cfg)


class CausalLM(nn.Module):
    """Qwen2ForCausalLM / LlamaForCausalLM. State-dict names are exactly the HF checkpoint names."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        self.model = DecoderModel(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        if cfg["tie_word_embeddings"]:
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                hidden_out: Optional[Dict[str, torch.Tensor]] = None) -> torch.Tensor:
        """input_ids, attention_mask [batch, seq] -> logits [batch, seq, vocab]."""
        b, s = input_ids.shape
        inputs_embeds = self.model.embed_tokens(input_ids)
        # Right padding: HF's default position_ids (arange) equal the mask cumsum on valid tokens.
        position_ids = torch.arange(s).unsqueeze(0).expand(b, s)
        mask = causal_padding_mask(attention_mask, inputs_embeds.dtype)
        cos, sin = self.model.rotary_emb(inputs_embeds, position_ids)
        hidden_states = inputs_embeds
        if hidden_out is not None:
            hidden_out["hidden.embed"] = hidden_states
        for i, layer in enumerate(self.model.layers):
            hidden_states = layer(hidden_states, cos, sin, mask)
            if hidden_out is not None:
                hidden_out[f"hidden.layer.{i}"] = hidden_states
        hidden_states = self.model.norm(hidden_states)
        if hidden_out is not None:
            hidden_out["hidden.final_norm"] = hidden_states
            hidden_out["rope.cos"] = cos[0]
            hidden_out["rope.sin"] = sin[0]
            hidden_out["rope.inv_freq"] = self.model.rotary_emb.inv_freq
        return self.lm_head(hidden_states).float() if hidden_states.dtype != torch.float64 else self.lm_head(hidden_states)


def hf_param_names(model: CausalLM) -> List[str]:
    """Trainable tensors by HF name; a tied lm_head appears once, as model.embed_tokens.weight."""
    return [n for n, _ in model.named_parameters()]


def build_model(cfg: dict, base: Dict[str, torch.Tensor], dtype: torch.dtype) -> CausalLM:
    model = CausalLM(cfg)
    params = dict(model.named_parameters())
    missing = set(params) - set(base)
    if missing:
        raise ValueError(f"weights missing for {sorted(missing)}")
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(base[name].float())
    return model.to(dtype)


# =============================================================================================
# LoRA as in PEFT (peft/tuners/lora/layer.py, Linear)
# =============================================================================================

class LoraLinear(nn.Module):
    """y = base_layer(x) + lora_B(lora_A(dropout(x))) * (lora_alpha / r)."""

    def __init__(self, base_layer: nn.Linear, r: int, lora_alpha: float, lora_dropout: float):
        super().__init__()
        self.base_layer = base_layer
        self.lora_dropout = nn.Dropout(lora_dropout) if lora_dropout > 0 else nn.Identity()
        self.lora_A = nn.Linear(base_layer.in_features, r, bias=False).to(base_layer.weight.dtype)
        self.lora_B = nn.Linear(r, base_layer.out_features, bias=False).to(base_layer.weight.dtype)
        self.scaling = lora_alpha / r

    def forward(self, x):
        return self.base_layer(x) + self.lora_B(self.lora_A(self.lora_dropout(x))) * self.scaling


def peft_key(module_path: str, which: str) -> str:
    """PEFT's saved key: 'base_model.model.' + module path + '.lora_A.weight' (adapter name dropped)."""
    return f"base_model.model.{module_path}.{which}.weight"


def lora_module_paths(cfg: dict) -> List[str]:
    out = []
    for l in range(cfg["num_hidden_layers"]):
        for t in LORA_TARGETS:
            sub = "mlp" if t in ("gate_proj", "up_proj", "down_proj") else "self_attn"
            out.append(f"model.layers.{l}.{sub}.{t}")
    return out


def attach_lora(model: CausalLM, lora: Dict[str, torch.Tensor]) -> Dict[str, nn.Parameter]:
    """Wrap every target Linear, load the given lora_A/lora_B, freeze the base. Returns PEFT key -> param."""
    for p in model.parameters():
        p.requires_grad_(False)
    params: Dict[str, nn.Parameter] = {}
    dtype = model.lm_head.weight.dtype
    for path in lora_module_paths(model.cfg):
        parent_path, attr = path.rsplit(".", 1)
        parent = model.get_submodule(parent_path)
        wrapped = LoraLinear(getattr(parent, attr), LORA_R, LORA_ALPHA, LORA_DROPOUT)
        with torch.no_grad():
            wrapped.lora_A.weight.copy_(lora[peft_key(path, "lora_A")].to(dtype))
            wrapped.lora_B.weight.copy_(lora[peft_key(path, "lora_B")].to(dtype))
        setattr(parent, attr, wrapped)
        params[peft_key(path, "lora_A")] = wrapped.lora_A.weight
        params[peft_key(path, "lora_B")] = wrapped.lora_B.weight
    for p in params.values():
        p.requires_grad_(True)
    return params


def init_lora(cfg: dict, seed: int) -> Dict[str, torch.Tensor]:
    """lora_A as PEFT (kaiming_uniform_, a=sqrt(5)); lora_B ~ N(0, LORA_B_STD) instead of PEFT's zeros
    so that lora_A receives a non-zero gradient."""
    torch.manual_seed(seed)
    model = CausalLM(cfg)
    out: Dict[str, torch.Tensor] = {}
    for path in lora_module_paths(cfg):
        base = model.get_submodule(path)
        a = torch.empty(LORA_R, base.in_features)
        nn.init.kaiming_uniform_(a, a=math.sqrt(5))
        b = torch.empty(base.out_features, LORA_R)
        nn.init.normal_(b, std=LORA_B_STD)
        out[peft_key(path, "lora_A")] = a
        out[peft_key(path, "lora_B")] = b
    return out


# =============================================================================================
# Losses
# =============================================================================================

def ce_loss(logits: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean token cross-entropy of predicting input_ids[b, t+1] at position t, over valid pairs
    (HF's shifted-label loss with ignore_index on padding)."""
    labels = input_ids.masked_fill(attention_mask == 0, -100)
    shift_logits = logits[:, :-1, :].reshape(-1, logits.shape[-1])
    shift_labels = labels[:, 1:].reshape(-1)
    return F.cross_entropy(shift_logits, shift_labels, ignore_index=-100, reduction="mean")


def kl_loss(logits: torch.Tensor, positions: List[Tuple[int, int]], target_ids: torch.Tensor,
            target_weights: torch.Tensor) -> torch.Tensor:
    """mean over positions of KL(v || softmax(logits)) = sum_a v(a) (log v(a) - log_softmax(logits)(a)),
    v sparse: target_ids/target_weights [positions, KL_TOPK]."""
    rows = torch.stack([logits[b, t] for b, t in positions])          # [P, vocab]
    logp = F.log_softmax(rows, dim=-1).gather(1, target_ids)           # [P, K]
    v = target_weights.to(rows.dtype)
    return (v * (v.log() - logp)).sum(-1).mean()


# =============================================================================================
# Expected values
# =============================================================================================

def make_inputs(vocab: int, seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    s = max(LENGTHS)
    ids = torch.full((len(LENGTHS), s), PAD_ID, dtype=torch.int64)
    mask = torch.zeros((len(LENGTHS), s), dtype=torch.int64)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = torch.randint(1, vocab, (n,), generator=g)
        mask[b, :n] = 1
    return ids, mask


def make_kl_targets(vocab: int, seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.stack([torch.randperm(vocab, generator=g)[:KL_TOPK] for _ in KL_POSITIONS])
    w = torch.rand(len(KL_POSITIONS), KL_TOPK, generator=g, dtype=torch.float64) + 0.2
    return ids, (w / w.sum(-1, keepdim=True)).float()


def init_base(cfg: dict, seed: int, storage: torch.dtype) -> Dict[str, torch.Tensor]:
    """HF-named float32 weights already rounded to the storage dtype (so expected values use
    exactly what the checkpoint holds)."""
    g = torch.Generator().manual_seed(seed)
    model = CausalLM(cfg)
    out = {}
    for name, p in model.named_parameters():
        if name.endswith("layernorm.weight") or name == "model.norm.weight":
            v = 1.0 + NORM_STD * torch.randn(p.shape, generator=g)
        elif name.endswith(".bias"):
            v = BIAS_STD * torch.randn(p.shape, generator=g)
        else:
            v = WEIGHT_STD * torch.randn(p.shape, generator=g)
        out[name] = v.to(storage).float()
    return out


def compute_expected(cfg: dict, base: Dict[str, torch.Tensor], lora: Dict[str, torch.Tensor],
                     input_ids: torch.Tensor, attention_mask: torch.Tensor, kl_ids: torch.Tensor,
                     kl_w: torch.Tensor, dtype: torch.dtype = torch.float32) -> dict:
    """Everything the fixture records, computed in `dtype` (float32 for the fixture, float64 for the
    rounding-discrepancy estimate and the finite-difference check)."""
    res: dict = {"tensors": {}, "scalars": {}}
    T = res["tensors"]

    # Full-parameter gradients of the `ce` loss.
    model = build_model(cfg, base, dtype)
    hidden: Dict[str, torch.Tensor] = {}
    logits = model(input_ids, attention_mask, hidden)
    loss = ce_loss(logits, input_ids, attention_mask)
    loss.backward()
    T["logits"] = logits.detach()
    for k, v in hidden.items():
        T[k] = v.detach()
    for name, p in model.named_parameters():
        T[f"grad.{name}"] = p.grad.detach().clone()
    res["scalars"]["ce_loss"] = loss.item()

    # LoRA forward and gradients of the `kl` loss, base frozen.
    model = build_model(cfg, base, dtype)
    lp = attach_lora(model, lora)
    logits = model(input_ids, attention_mask)
    loss = kl_loss(logits, KL_POSITIONS, kl_ids, kl_w)
    loss.backward()
    T["lora_logits"] = logits.detach()
    for k, p in lp.items():
        T[f"lora_grad.{k}"] = p.grad.detach().clone()
    res["scalars"]["kl_loss"] = loss.item()

    # Training parity: AdamW + linear decay (get_linear_schedule_with_warmup, 0 warmup) + clipping.
    model = build_model(cfg, base, dtype)
    lp = attach_lora(model, lora)
    params = list(lp.values())
    opt = torch.optim.AdamW(params, lr=TRAIN_LR, betas=TRAIN_BETAS, eps=TRAIN_EPS,
                            weight_decay=TRAIN_WEIGHT_DECAY, foreach=False)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: max(0.0, float(TRAIN_STEPS - step) / float(max(1, TRAIN_STEPS))))
    losses, norms, lrs = [], [], []
    for _ in range(TRAIN_STEPS):
        opt.zero_grad(set_to_none=True)
        loss = kl_loss(model(input_ids, attention_mask), KL_POSITIONS, kl_ids, kl_w)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
        losses.append(loss.item())
        norms.append(norm.item())
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    with torch.no_grad():
        final = kl_loss(model(input_ids, attention_mask), KL_POSITIONS, kl_ids, kl_w).item()
    res["scalars"].update(train_losses=losses, train_grad_norms=norms, train_lrs=lrs, train_final_loss=final)
    res["lora_after"] = {k: p.detach().clone() for k, p in lp.items()}
    return res


# =============================================================================================
# Writing a fixture directory
# =============================================================================================

def hf_config(spec: dict) -> dict:
    common = {
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": spec["hidden"],
        "initializer_range": WEIGHT_STD,
        "intermediate_size": spec["intermediate"],
        "max_position_embeddings": MAX_POSITIONS,
        "num_attention_heads": spec["heads"],
        "num_hidden_layers": spec["layers"],
        "num_key_value_heads": spec["kv_heads"],
        "rms_norm_eps": spec["eps"],
        "rope_scaling": spec["rope_scaling"],
        "rope_theta": spec["rope_theta"],
        "tie_word_embeddings": spec["tie"],
        "torch_dtype": spec["dtype"],
        "use_cache": True,
        "vocab_size": spec["vocab"],
        "attention_dropout": 0.0,
    }
    if spec["arch"] == "qwen2":
        cfg = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", **common,
               "max_window_layers": spec["layers"], "sliding_window": MAX_POSITIONS, "use_sliding_window": False}
    else:
        cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", **common,
               "attention_bias": False, "head_dim": spec["hidden"] // spec["heads"], "mlp_bias": False,
               "pretraining_tp": 1}
    return dict(sorted(cfg.items()))


def adapter_config() -> dict:
    return {
        "base_model_name_or_path": ".",
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "lora_alpha": LORA_ALPHA,
        "lora_dropout": LORA_DROPOUT,
        "modules_to_save": None,
        "peft_type": "LORA",
        "r": LORA_R,
        "target_modules": sorted(LORA_TARGETS),
        "task_type": "CAUSAL_LM",
        "use_dora": False,
        "use_rslora": False,
    }


def max_abs(a: torch.Tensor) -> float:
    return float(a.detach().abs().max().item()) if a.numel() else 0.0


def discrepancy(r32: dict, r64: dict, attention_mask: torch.Tensor) -> dict:
    """max |f32 - f64| per quantity (valid positions only for logits), with the f64 scale beside it.
    The same float32 algorithm in a different summation order should land well inside these."""
    valid = attention_mask.bool()

    def pair(a, b):
        return {"max_abs_diff": max_abs(a.double() - b), "max_abs_ref": max_abs(b)}

    def group(prefix):
        names = [k for k in r64["tensors"] if k.startswith(prefix)]
        diffs = [max_abs(r32["tensors"][k].double() - r64["tensors"][k]) for k in names]
        refs = [max_abs(r64["tensors"][k]) for k in names]
        rel = [d / r if r > 0 else 0.0 for d, r in zip(diffs, refs)]
        return {"max_abs_diff": max(diffs), "max_abs_ref": max(refs), "max_rel_diff_per_tensor": max(rel)}

    s32, s64 = r32["scalars"], r64["scalars"]
    after = [max_abs(r32["lora_after"][k].double() - r64["lora_after"][k]) for k in r64["lora_after"]]
    return {
        "logits": pair(r32["tensors"]["logits"][valid], r64["tensors"]["logits"][valid]),
        "lora_logits": pair(r32["tensors"]["lora_logits"][valid], r64["tensors"]["lora_logits"][valid]),
        "ce_loss": abs(s32["ce_loss"] - s64["ce_loss"]),
        "kl_loss": abs(s32["kl_loss"] - s64["kl_loss"]),
        "grad": group("grad."),
        "lora_grad": group("lora_grad."),
        "train_losses": max(abs(a - b) for a, b in zip(s32["train_losses"], s64["train_losses"])),
        "train_grad_norms": max(abs(a - b) for a, b in zip(s32["train_grad_norms"], s64["train_grad_norms"])),
        "lora_after_10": {"max_abs_diff": max(after),
                          "max_abs_ref": max(max_abs(v) for v in r64["lora_after"].values())},
    }


def generate_fixture(spec: dict, out_root: str) -> None:
    name = spec["name"]
    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    cfg = hf_config(spec)
    storage = TORCH_DTYPES[spec["dtype"]]
    base = init_base(cfg, spec["seed"], storage)
    lora = init_lora(cfg, spec["seed"] + 1)
    input_ids, attention_mask = make_inputs(cfg["vocab_size"], spec["seed"] + 2)
    kl_ids, kl_w = make_kl_targets(cfg["vocab_size"], spec["seed"] + 3)

    r32 = compute_expected(cfg, base, lora, input_ids, attention_mask, kl_ids, kl_w, torch.float32)
    r64 = compute_expected(cfg, {k: v.double() for k, v in base.items()}, {k: v.double() for k, v in lora.items()},
                           input_ids, attention_mask, kl_ids, kl_w, torch.float64)

    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    stored = {k: v.to(storage) for k, v in base.items()}
    if cfg["tie_word_embeddings"]:
        stored.pop("lm_head.weight", None)
    write_safetensors(os.path.join(d, "model.safetensors"), stored, {"format": "pt"})
    write_safetensors(os.path.join(d, "lora.safetensors"), lora, {"format": "pt"})
    write_safetensors(os.path.join(d, "lora_after_10.safetensors"), r32["lora_after"], {"format": "pt"})
    with open(os.path.join(d, "adapter_config.json"), "w") as f:
        json.dump(adapter_config(), f, indent=2)
        f.write("\n")
    tensors = {k: v.float().contiguous() for k, v in r32["tensors"].items()}
    write_safetensors(os.path.join(d, "expected.safetensors"), tensors, {"format": "pt"})

    s = r32["scalars"]
    expected = {
        "fixture": name,
        "command": COMMAND,
        "torch_version": torch.__version__,
        "compute_dtype": "float32",
        "weights_dtype": spec["dtype"],
        "pad_token_id": PAD_ID,
        "lengths": LENGTHS,
        "input_ids": input_ids.tolist(),
        "attention_mask": attention_mask.tolist(),
        "position_ids": [list(range(input_ids.shape[1]))] * input_ids.shape[0],
        "ce_loss": s["ce_loss"],
        "ce_num_targets": sum(n - 1 for n in LENGTHS),
        "kl_positions": [list(p) for p in KL_POSITIONS],
        "kl_target_ids": kl_ids.tolist(),
        "kl_target_weights": [[float(x) for x in row] for row in kl_w],
        "kl_loss": s["kl_loss"],
        "lora": {"r": LORA_R, "lora_alpha": LORA_ALPHA, "lora_dropout": LORA_DROPOUT,
                 "scaling": LORA_ALPHA / LORA_R, "target_modules": LORA_TARGETS,
                 "init": f"lora_A kaiming_uniform_(a=sqrt(5)) as PEFT; lora_B normal(0, {LORA_B_STD}) (PEFT uses zeros)"},
        "train": {"steps": TRAIN_STEPS, "optimizer": "torch.optim.AdamW", "lr": TRAIN_LR,
                  "betas": list(TRAIN_BETAS), "eps": TRAIN_EPS, "weight_decay": TRAIN_WEIGHT_DECAY,
                  "schedule": "linear decay, no warmup: lr_k = lr * (steps - k) / steps, k = 0..steps-1",
                  "max_grad_norm": MAX_GRAD_NORM,
                  "clip": "clip_grad_norm_: coef = max_norm / (total_norm + 1e-6), applied when coef < 1",
                  "loss": "kl", "batch": "the same batch every step"},
        "train_losses": s["train_losses"],
        "train_grad_norms": s["train_grad_norms"],
        "train_lrs": s["train_lrs"],
        "train_final_loss": s["train_final_loss"],
        "float64_discrepancy": discrepancy(r32, r64, attention_mask),
        "tensors": {k: list(v.shape) for k, v in sorted(tensors.items())},
    }
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"{name}: ce {s['ce_loss']:.6f} kl {s['kl_loss']:.6f} train {s['train_losses'][0]:.4f} -> "
          f"{s['train_final_loss']:.4f}  f64 logit diff {expected['float64_discrepancy']['logits']['max_abs_diff']:.2e}")


# =============================================================================================
# --check: validate the written fixtures
# =============================================================================================

class CheckFailed(Exception):
    pass


def expect(ok: bool, msg: str) -> None:
    if not ok:
        raise CheckFailed(msg)


def load_fixture(d: str) -> dict:
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(d, "expected.json")) as f:
        exp = json.load(f)
    base, _ = read_safetensors(os.path.join(d, "model.safetensors"))
    stored_dtypes = {t.dtype for t in base.values()}
    expect(stored_dtypes == {TORCH_DTYPES[cfg["torch_dtype"]]},
           f"{d}/model.safetensors: dtypes {stored_dtypes} do not match torch_dtype {cfg['torch_dtype']}")
    base = {k: v.float() for k, v in base.items()}
    if cfg["tie_word_embeddings"]:
        expect("lm_head.weight" not in base, f"{d}: tied model stores lm_head.weight")
        base["lm_head.weight"] = base["model.embed_tokens.weight"]
    lora, _ = read_safetensors(os.path.join(d, "lora.safetensors"))
    lora_after, _ = read_safetensors(os.path.join(d, "lora_after_10.safetensors"))
    tensors, _ = read_safetensors(os.path.join(d, "expected.safetensors"))
    return dict(cfg=cfg, exp=exp, base=base, lora=lora, lora_after=lora_after, tensors=tensors,
                input_ids=torch.tensor(exp["input_ids"]), attention_mask=torch.tensor(exp["attention_mask"]),
                kl_ids=torch.tensor(exp["kl_target_ids"]),
                kl_w=torch.tensor(exp["kl_target_weights"], dtype=torch.float32))


def check_reproduces(fx: dict) -> str:
    """Recomputing from the files read back with our own reader gives the stored numbers bit for bit."""
    r = compute_expected(fx["cfg"], fx["base"], fx["lora"], fx["input_ids"], fx["attention_mask"],
                         fx["kl_ids"], fx["kl_w"])
    expect(set(r["tensors"]) == set(fx["tensors"]), "expected.safetensors tensor names differ from a recomputation")
    worst = 0.0
    for k, v in r["tensors"].items():
        expect(list(v.shape) == list(fx["tensors"][k].shape), f"{k}: shape differs")
        worst = max(worst, max_abs(v.float() - fx["tensors"][k]))
    for k, v in r["lora_after"].items():
        worst = max(worst, max_abs(v - fx["lora_after"][k]))
    e = fx["exp"]
    for key in ("ce_loss", "kl_loss", "train_final_loss"):
        worst = max(worst, abs(r["scalars"][key] - e[key]))
    for key in ("train_losses", "train_grad_norms", "train_lrs"):
        worst = max(worst, max(abs(a - b) for a, b in zip(r["scalars"][key], e[key])))
    expect(worst == 0.0, f"recomputation differs from stored fixture by {worst:.3e}")
    return "recomputed from files: bit-identical"


def finite_difference_check(fx: dict, rng: np.random.Generator) -> str:
    """float64: autograd gradient vs central differences, along a random direction per tensor and
    on 3 random coordinates per tensor, for the full-parameter `ce` loss and the LoRA `kl` loss."""
    cfg, ids, am = fx["cfg"], fx["input_ids"], fx["attention_mask"]
    base64 = {k: v.double() for k, v in fx["base"].items()}
    lora64 = {k: v.double() for k, v in fx["lora"].items()}
    h = 1e-5
    worst = 0.0
    checked = 0

    def run(params: Dict[str, torch.Tensor], loss_fn: Callable[[], torch.Tensor]) -> None:
        nonlocal worst, checked
        loss = loss_fn()
        grads = torch.autograd.grad(loss, list(params.values()))
        for (name, p), g in zip(params.items(), grads):
            dirs = [torch.from_numpy(rng.standard_normal(tuple(p.shape)))]
            for _ in range(3):
                e = torch.zeros_like(p)
                e.view(-1)[int(rng.integers(p.numel()))] = 1.0
                dirs.append(e)
            for dvec in dirs:
                with torch.no_grad():
                    p.add_(h * dvec)
                    lp = loss_fn().item()
                    p.sub_(2 * h * dvec)
                    lm = loss_fn().item()
                    p.add_(h * dvec)
                fd = (lp - lm) / (2 * h)
                an = float((g * dvec).sum())
                err = abs(fd - an) / max(1e-3, abs(an))
                expect(err < 1e-6, f"{name}: finite difference {fd:.10e} vs autograd {an:.10e}")
                worst = max(worst, err)
                checked += 1

    model = build_model(cfg, base64, torch.float64)
    run(dict(model.named_parameters()), lambda: ce_loss(model(ids, am), ids, am))
    model = build_model(cfg, base64, torch.float64)
    lp = attach_lora(model, lora64)
    run(lp, lambda: kl_loss(model(ids, am), KL_POSITIONS, fx["kl_ids"], fx["kl_w"]))
    return f"finite differences (f64): {checked} directional derivatives, worst rel err {worst:.1e}"


def leak_check(fx: dict, rng: np.random.Generator) -> str:
    """Causal mask and padding do not leak: changing sequence 1's pad tokens leaves its valid logits
    bit-identical, and each sequence run alone (unpadded) matches the batched valid logits."""
    cfg, ids, am = fx["cfg"], fx["input_ids"], fx["attention_mask"]
    model = build_model(cfg, fx["base"], torch.float32)
    with torch.no_grad():
        ref = model(ids, am)
        ids2 = ids.clone()
        n1 = LENGTHS[1]
        ids2[1, n1:] = torch.from_numpy(rng.integers(1, cfg["vocab_size"], size=ids.shape[1] - n1))
        alt = model(ids2, am)
        expect(torch.equal(ref[1, :n1], alt[1, :n1]), "sequence 1 valid logits changed when its pad tokens changed")
        worst = 0.0
        for b, n in enumerate(LENGTHS):
            alone = model(ids[b:b + 1, :n], am[b:b + 1, :n])
            worst = max(worst, max_abs(alone[0] - ref[b, :n]))
            # future tokens must not influence earlier positions
            if n > 2:
                cut = model(ids[b:b + 1, :n - 1], am[b:b + 1, :n - 1])
                worst = max(worst, max_abs(cut[0] - ref[b, :n - 1]))
        expect(worst < 1e-5, f"single-sequence logits differ from batched by {worst:.2e}")
    return f"no padding/causal leak (pad change bit-identical; alone/truncated vs batched {worst:.1e})"


def numpy_reference(cfg: dict, sd: Dict[str, np.ndarray], lora: Optional[Dict[str, np.ndarray]],
                    tokens: List[int]) -> np.ndarray:
    """A second forward in float64 NumPy, one position and head at a time, written from the equations
    (not from the torch modules above) -> logits [len(tokens), vocab]."""
    H, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, eps = H // nh, cfg["rms_norm_eps"]
    half = hd // 2
    inv = [cfg["rope_theta"] ** (-(2 * i) / hd) for i in range(half)]
    rs = cfg.get("rope_scaling")
    if rs:
        lo_w = rs["original_max_position_embeddings"] / rs["low_freq_factor"]
        hi_w = rs["original_max_position_embeddings"] / rs["high_freq_factor"]
        scaled = []
        for f in inv:
            w = 2 * math.pi / f
            if w < hi_w:
                scaled.append(f)
            elif w > lo_w:
                scaled.append(f / rs["factor"])
            else:
                s = (rs["original_max_position_embeddings"] / w - rs["low_freq_factor"]) / (rs["high_freq_factor"] - rs["low_freq_factor"])
                scaled.append((1 - s) * f / rs["factor"] + s * f)
        inv = scaled

    def rms(x, w):
        return w * x / np.sqrt(np.mean(x * x) + eps)

    def linear(x, prefix):
        y = sd[prefix + ".weight"] @ x
        if prefix + ".bias" in sd:
            y = y + sd[prefix + ".bias"]
        if lora is not None:
            a = lora.get(f"base_model.model.{prefix}.lora_A.weight")
            if a is not None:
                y = y + (LORA_ALPHA / LORA_R) * (lora[f"base_model.model.{prefix}.lora_B.weight"] @ (a @ x))
        return y

    def rope(v, pos):
        out = v.copy()
        for i in range(half):
            c, s = math.cos(pos * inv[i]), math.sin(pos * inv[i])
            out[i] = v[i] * c - v[i + half] * s
            out[i + half] = v[i + half] * c + v[i] * s
        return out

    xs = [sd["model.embed_tokens.weight"][t].copy() for t in tokens]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}"
        hs = [rms(x, sd[f"{p}.input_layernorm.weight"]) for x in xs]
        q = [linear(h, f"{p}.self_attn.q_proj").reshape(nh, hd) for h in hs]
        k = [linear(h, f"{p}.self_attn.k_proj").reshape(nkv, hd) for h in hs]
        v = [linear(h, f"{p}.self_attn.v_proj").reshape(nkv, hd) for h in hs]
        q = [np.stack([rope(qt[j], t) for j in range(nh)]) for t, qt in enumerate(q)]
        k = [np.stack([rope(kt[j], t) for j in range(nkv)]) for t, kt in enumerate(k)]
        new = []
        for t in range(len(tokens)):
            heads = []
            for j in range(nh):
                g = j // (nh // nkv)
                sc = np.array([q[t][j] @ k[u][g] / math.sqrt(hd) for u in range(t + 1)])
                pr = np.exp(sc - sc.max())
                pr /= pr.sum()
                heads.append(sum(pr[u] * v[u][g] for u in range(t + 1)))
            a = xs[t] + linear(np.concatenate(heads), f"{p}.self_attn.o_proj")
            m = rms(a, sd[f"{p}.post_attention_layernorm.weight"])
            gate = linear(m, f"{p}.mlp.gate_proj")
            act = gate / (1 + np.exp(-gate)) * linear(m, f"{p}.mlp.up_proj")
            new.append(a + linear(act, f"{p}.mlp.down_proj"))
        xs = new
    head = sd["lm_head.weight"]
    return np.stack([head @ rms(x, sd["model.norm.weight"]) for x in xs])


def numpy_check(fx: dict) -> str:
    sd = {k: v.double().numpy() for k, v in fx["base"].items()}
    lora = {k: v.double().numpy() for k, v in fx["lora"].items()}
    worst = 0.0
    for b, n in enumerate(LENGTHS):
        toks = fx["input_ids"][b, :n].tolist()
        for key, ad in (("logits", None), ("lora_logits", lora)):
            ref = numpy_reference(fx["cfg"], sd, ad, toks)
            worst = max(worst, float(np.abs(ref - fx["tensors"][key][b, :n].double().numpy()).max()))
    expect(worst < 1e-4, f"NumPy float64 forward differs from the torch fixture by {worst:.2e}")
    inv = fx["tensors"]["rope.inv_freq"].double().numpy()
    return f"independent NumPy forward agrees (max |diff| {worst:.1e}); inv_freq {np.array2string(inv, precision=4)}"


def format_check(d: str) -> str:
    for fn in ("model.safetensors", "lora.safetensors", "lora_after_10.safetensors", "expected.safetensors"):
        with open(os.path.join(d, fn), "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            hdr = f.read(n)
        expect(n % 8 == 0, f"{fn}: header length {n} is not a multiple of 8")
        body = hdr.rstrip(b" ")
        expect(body.endswith(b"}") and json.loads(body) is not None, f"{fn}: header is not JSON padded with spaces")
    return "safetensors headers 8-byte aligned, offsets contiguous"


def run_check(out_root: str) -> int:
    rng = np.random.default_rng(20240601)
    failures = 0
    for spec in FIXTURES:
        d = os.path.join(out_root, spec["name"])
        print(f"[{spec['name']}]")
        try:
            fx = load_fixture(d)
            for fn in (lambda: format_check(d), lambda: check_reproduces(fx), lambda: leak_check(fx, rng),
                       lambda: numpy_check(fx), lambda: finite_difference_check(fx, rng)):
                print("  ok  " + fn())
        except CheckFailed as e:
            failures += 1
            print(f"  FAIL {e}")
    print("all checks passed" if failures == 0 else f"{failures} fixture(s) failed")
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="fixture root, e.g. fixtures/torch")
    ap.add_argument("--check", action="store_true", help="validate existing fixtures instead of writing them")
    args = ap.parse_args()
    # One thread: bit-for-bit reproducible reductions, and polite on a shared machine.
    torch.set_num_threads(1)
    if args.check:
        return run_check(args.out)
    os.makedirs(args.out, exist_ok=True)
    for spec in FIXTURES:
        generate_fixture(spec, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
