#!/usr/bin/env python3
"""CUDA anchor for `moska bench kernels`: the same MoSKA-shaped attention through PyTorch (bf16).

Llama-3.1-8B layer shapes (Hq 32, Hkv 8, D 128). Times are medians of triton.testing.do_bench
(CUDA events) on random data. Writes JSON (one entry per shape, keyed like the WebGPU bench) to
argv[1] and prints a table. Shapes:
  unique  U=65536, B=16/64: per-request decode attention (SDPA, enable_gqa) over each request's KV
  shared  S=1M, B=16/64/256: dense, best of SDPA (all B·Hq rows stacked against one K/V) and the
          GQA-packed split-KV flash + LSE merge; top-k 25%: the packed variant over 25% of the chunks
  perreq  S=1M, B=16/64: per-request decode attention over the shared KV (k.expand; B=256 needs too much memory)
"""
import json, math, sys
import torch
import torch.nn.functional as F
from triton.testing import do_bench

torch.manual_seed(0)
dev = "cuda"
Hq, Hkv, D, G = 32, 8, 128, 4
bf = torch.bfloat16
out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "rows": {}}


def bench(fn):
    return do_bench(fn, warmup=25, rep=200, return_mode="median")


def rec(key, ms, nbytes, flops):
    out["rows"][key] = {"ms": ms, "GBps": nbytes / ms / 1e6, "TFLOPs": flops / ms / 1e9}
    print(f"{key:32s} {ms:9.3f} ms {nbytes / ms / 1e6:9.0f} GB/s {flops / ms / 1e9:8.1f} TFLOP/s", flush=True)


# ceilings
x = torch.empty(2 * 1024**3, dtype=torch.uint8, device=dev).random_(0, 255)
y = torch.empty_like(x)
ms = bench(lambda: y.copy_(x))
out["copyGBps"] = 2 * x.numel() / ms / 1e6
del x, y
a = torch.randn(8192, 8192, dtype=bf, device=dev)
b = torch.randn(8192, 8192, dtype=bf, device=dev)
ms = bench(lambda: a @ b)
out["gemmBf16TFLOPs"] = 2 * 8192**3 / ms / 1e9
del a, b
print(f"ceilings: copy {out['copyGBps']:.0f} GB/s, bf16 GEMM {out['gemmBf16TFLOPs']:.0f} TFLOP/s", flush=True)

# unique: per-request decode over own KV
U = 65536
for B in (16, 64):
    q = torch.randn(B, Hq, 1, D, dtype=bf, device=dev)
    k = torch.randn(B, Hkv, U, D, dtype=bf, device=dev)
    v = torch.randn_like(k)
    ms = bench(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
    rec(f"unique U={U} B={B}", ms, 2 * k.numel() * 2, 4 * B * Hq * U * D)
    del q, k, v
    torch.cuda.empty_cache()

S = 1 << 20
C = 4096
k = torch.randn(1, Hkv, S, D, dtype=bf, device=dev)
v = torch.randn_like(k)


def packed_split(qp, kk, vv, nsplit):
    """GQA-packed rows [1, Hkv, B*G, D] against K/V split in nsplit pieces, exact LSE merge in f32."""
    L = kk.shape[2] // nsplit
    ks = kk.view(Hkv, nsplit, L, D).transpose(0, 1)  # [nsplit, Hkv, L, D]
    vs = vv.view(Hkv, nsplit, L, D).transpose(0, 1)
    qs = qp.expand(nsplit, -1, -1, -1)
    o, lse = torch.ops.aten._scaled_dot_product_flash_attention(qs, ks, vs)[:2]
    m = lse.max(dim=0, keepdim=True).values
    w = torch.exp(lse - m)
    return (o.float() * w.unsqueeze(-1)).sum(0) / w.sum(0).unsqueeze(-1)


for B in (16, 64, 256):
    q = torch.randn(1, Hq, B, D, dtype=bf, device=dev)
    ms_sdpa = bench(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
    qp = torch.randn(1, Hkv, B * G, D, dtype=bf, device=dev)
    best_split, ms_split = None, float("inf")
    for nsplit in (8, 32, 128, 512):
        t = bench(lambda: packed_split(qp, k, v, nsplit))
        if t < ms_split:
            best_split, ms_split = nsplit, t
    ms = min(ms_sdpa, ms_split)
    rec(f"shared dense S={S} B={B}", ms, 2 * k.numel() * 2, 4 * B * Hq * S * D)
    out["rows"][f"shared dense S={S} B={B}"].update({"sdpaMs": ms_sdpa, "packedSplitMs": ms_split, "nsplit": best_split})
    # top-k 25%: every request reads a quarter of the chunks; with B >= 16 nearly every chunk is
    # touched by someone, so a dense kernel over the touched chunks with 25% of the FLOPs is the
    # anchor's best: emulate it with the packed kernel over S/4 tokens (a lower bound on its time).
    kq, vq = k[:, :, : S // 4].contiguous(), v[:, :, : S // 4].contiguous()
    t = min(bench(lambda: packed_split(qp, kq, vq, ns)) for ns in (8, 32, 128))
    rec(f"shared top25 S={S} B={B}", t, 2 * kq.numel() * 2, 4 * B * Hq * (S // 4) * D)
    del q, qp, kq, vq
    torch.cuda.empty_cache()

for B in (16, 64):
    q = torch.randn(B, Hq, 1, D, dtype=bf, device=dev)
    ke, ve = k.expand(B, -1, -1, -1), v.expand(B, -1, -1, -1)
    ms = bench(lambda: F.scaled_dot_product_attention(q, ke, ve, enable_gqa=True))
    rec(f"perreq S={S} B={B}", ms, B * 2 * k.numel() * 2, 4 * B * Hq * S * D)
    del q

if len(sys.argv) > 1:
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1)
