#!/usr/bin/env python3
"""Measure MoSKA-shaped kernels with PyTorch on a CUDA GPU and write a moska measurement file.

Usage (on the GPU machine):  PYTHONUNBUFFERED=1 python3 bench/measure_torch.py --out measurements.json
  --sections gemm2,merge2,router2,lowp   only these sections (default: the original set, see SECTIONS)
  --plan                                 no GPU: write the planned entries (seconds = 0) to check their specs

Each entry is a KernelSpec (src/core/kernels.ts) plus the implementation that ran it (`impl`), the
measured seconds per call and how it was timed. Timing: CUDA-graph replay of R back-to-back calls
that rotate over enough input copies to defeat the L2 cache (so per-call time includes the
in-stream gap between kernels but not Python launch overhead); median of 5 replays. Where graph
capture fails the fallback is CUDA events around an eager loop (method = "events").
Format: docs/model-measurements.md.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

L2_DEFEAT_BYTES = 256 * 2**20
DEADLINE_S = 200.0
T0 = time.time()
DEV = "cuda"
SOURCE = "bench/measure_torch.py"


def tensor_bytes(ts):
    return sum(t.numel() * t.element_size() for t in ts)


def time_fn(make_inputs, fn, target_ms=8.0, defeat_bytes=L2_DEFEAT_BYTES, max_copies=8):
    """Seconds per call of fn(*inputs), rotating over copies of the inputs."""
    first = make_inputs()
    foot = tensor_bytes(first)
    copies = max(1, min(max_copies, math.ceil(defeat_bytes / max(foot, 1))))
    sets = [first] + [make_inputs() for _ in range(copies - 1)]
    for s in sets:
        fn(*s)
    torch.cuda.synchronize()
    # eager estimate
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    n_est = 3
    e0.record()
    for i in range(n_est):
        fn(*sets[i % copies])
    e1.record()
    torch.cuda.synchronize()
    est_ms = e0.elapsed_time(e1) / n_est
    reps = int(max(copies, min(400, math.ceil(target_ms / max(est_ms, 1e-3)))))
    reps = max(copies, (reps // copies) * copies)
    try:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for i in range(copies):
                fn(*sets[i])
        torch.cuda.current_stream().wait_stream(stream)
        torch.cuda.synchronize()
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            for i in range(reps):
                fn(*sets[i % copies])
        g.replay()
        torch.cuda.synchronize()
        times = []
        for _ in range(5):
            e0.record()
            g.replay()
            e1.record()
            torch.cuda.synchronize()
            times.append(e0.elapsed_time(e1) / reps)
        del g
        method = "cuda-graph"
    except Exception as ex:  # noqa: BLE001 - fall back to eager timing, recorded in the entry
        torch.cuda.synchronize()
        times = []
        for _ in range(5):
            e0.record()
            for i in range(reps):
                fn(*sets[i % copies])
            e1.record()
            torch.cuda.synchronize()
            times.append(e0.elapsed_time(e1) / reps)
        method = f"events ({type(ex).__name__})"
    del sets, first
    torch.cuda.empty_cache()
    return statistics.median(times) / 1e3, method, reps, copies


RESULTS = []
FAILED = []


PLAN = False  # --plan: list the entries without timing (checks ids and specs on a machine without a GPU)


def record(id_, spec, impl, fn_inputs, fn, note="", **timing):
    if PLAN:
        RESULTS.append({"id": id_, "spec": spec, "impl": impl, "seconds": 0, "method": "plan", "source": SOURCE, "note": note})
        return
    if time.time() - T0 > DEADLINE_S:
        FAILED.append({"id": id_, "error": "skipped: deadline"})
        return
    try:
        s, method, reps, copies = time_fn(fn_inputs, fn, **timing)
        RESULTS.append({"id": id_, "spec": spec, "impl": impl, "seconds": s, "method": method,
                        "reps": reps, "copies": copies, "source": SOURCE, "note": note})
        print(f"{id_:58s} {impl:14s} {s*1e3:10.4f} ms  {method}", flush=True)
    except Exception as ex:  # noqa: BLE001
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        FAILED.append({"id": id_, "error": f"{type(ex).__name__}: {ex}"[:300]})
        print(f"{id_:58s} FAILED {type(ex).__name__}: {str(ex)[:120]}", flush=True)


def randn(*shape, dtype=torch.bfloat16):
    return torch.randn(*shape, device=DEV, dtype=torch.float32).mul_(0.5).to(dtype)


# ---------------------------------------------------------------- ceilings
def ceilings():
    n = 2**30 // 2
    a = randn(n)
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    torch.cuda.synchronize()
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    ts = []
    for _ in range(10):
        e0.record(); b.copy_(a); e1.record(); torch.cuda.synchronize()
        ts.append(e0.elapsed_time(e1) / 1e3)
    copy_bps = 2 * a.numel() * 2 / statistics.median(ts)
    del a, b
    x, y = randn(8192, 8192), randn(8192, 8192)
    for _ in range(3):
        x @ y
    torch.cuda.synchronize()
    ts = []
    for _ in range(10):
        e0.record(); x @ y; e1.record(); torch.cuda.synchronize()
        ts.append(e0.elapsed_time(e1) / 1e3)
    gemm_s = statistics.median(ts)
    del x, y
    torch.cuda.empty_cache()
    return {"copyBytesPerS": copy_bps, "gemmBf16_8192_s": gemm_s, "gemmBf16_8192_flops": 2 * 8192**3 / gemm_s}


# ---------------------------------------------------------------- GEMMs (dense layers)
LLAMA_GEMMS = [("qkv", 6144, 4096), ("o", 4096, 4096), ("gateup", 28672, 4096), ("down", 4096, 14336)]


def gemms():
    for label, n, k in LLAMA_GEMMS:
        for m in [1, 16, 64, 256, 1024, 4096, 8192]:
            spec = {"kind": "gemm", "m": m, "n": n, "k": k, "dtype": "bf16", "count": 1, "label": label}
            record(f"gemm-bf16-{label}-m{m}", spec, "cublas",
                   lambda m=m, n=n, k=k: (randn(m, k), randn(k, n)), lambda a, b: torch.matmul(a, b))
    # FP8 (cuBLASLt through torch._scaled_mm): the paper's math type
    one = torch.ones((), device=DEV, dtype=torch.float32)
    for label, n, k in [("gateup", 28672, 4096), ("o", 4096, 4096), ("down", 4096, 14336)]:
        for m in [16, 64, 256, 1024, 8192]:
            spec = {"kind": "gemm", "m": m, "n": n, "k": k, "dtype": "fp8", "count": 1, "label": label}

            def mk(m=m, n=n, k=k):
                return (randn(m, k, dtype=torch.float8_e4m3fn), randn(n, k, dtype=torch.float8_e4m3fn))
            record(f"gemm-fp8-{label}-m{m}", spec, "cublaslt",
                   mk, lambda a, b: torch._scaled_mm(a, b.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16))


# ---------------------------------------------------------------- per-request decode attention
def decode_attention():
    for b, u in [(1, 16384), (8, 16384), (32, 16384), (4, 131072), (16, 32768), (128, 8192), (256, 4096), (64, 16384), (1, 1048576)]:
        spec = {"kind": "decodeAttention", "requests": b, "totalTokens": b * u, "maxTokens": u, "qHeads": 32, "kvHeads": 8,
                "headDim": 128, "layers": 1, "kvDtype": "bf16", "mathDtype": "bf16"}
        record(f"decode-b{b}-u{u}", spec, "sdpa",
               lambda b=b, u=u: (randn(b, 32, 1, 128), randn(b, 8, u, 128), randn(b, 8, u, 128)),
               lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))


# ---------------------------------------------------------------- stacked shared attention (GQA group packed as rows)
def shared_attention():
    from torch.nn.attention import SDPBackend, sdpa_kernel
    backends = [("sdpa-flash", SDPBackend.FLASH_ATTENTION), ("sdpa-cudnn", SDPBackend.CUDNN_ATTENTION)]
    shapes = [(262144, 16384, 16), (262144, 16384, 64), (262144, 16384, 256), (262144, 4096, 4), (262144, 4096, 16),
              (262144, 4096, 64), (262144, 4096, 256), (262144, 1024, 16), (262144, 1024, 64), (1048576, 16384, 16),
              (1048576, 16384, 64), (1048576, 65536, 64), (65536, 4096, 1024), (262144, 32768, 1024)]
    for impl, be in backends:
        for s, c, b in shapes:
            n = s // c
            rows = b * 4
            spec = {"kind": "sharedAttention", "chunkTokens": c, "histogram": [{"queries": b, "units": n * 8}], "kvHeads": 8,
                    "groupSize": 4, "headDim": 128, "layers": 1, "kvDtype": "bf16", "mathDtype": "bf16"}

            def mk(n=n, c=c, rows=rows):
                return (randn(n, 8, rows, 128), randn(n, 8, c, 128), randn(n, 8, c, 128))

            def run(q, k, v, be=be):
                with sdpa_kernel([be]):
                    return F.scaled_dot_product_attention(q, k, v)
            record(f"shared-{impl}-s{s}-c{c}-b{b}", spec, impl, mk, run, note=f"{n} chunks x 8 KV heads, rows = {b} x 4")


# ---------------------------------------------------------------- LSE merge and router (torch eager ops)
def merge_and_router():
    # the same ids and specs as before merge_entry / router_entry existed (headDim 128 leaves the id unsuffixed)
    for rows, ways in [(64 * 32, 2), (64 * 32, 17), (256 * 32, 17), (256 * 32, 65), (1024 * 32, 9)]:
        merge_entry(rows, ways, 128)
    for b, chunks, k in [(64, 64, 16), (256, 256, 64), (256, 1024, 256), (1024, 1024, 256)]:
        router_entry(b, chunks, k)


# ---------------------------------------------------------------- issue 12: more points where the fit was thin
# GEMMs where docs/model-fidelity.md's errors are worst (M <= 256, N = 4096: launch- and bandwidth-bound, the
# library switching kernels) and shapes of other N/K, so a class's held-out shapes are not all Llama-8B layers.
GEMM2_BF16 = [("qkv", 6144, 4096, [8, 32, 128, 512, 2048]), ("o", 4096, 4096, [2, 4, 8, 32, 128, 192, 384, 512, 768, 2048]),
              ("gateup", 28672, 4096, [32, 128, 512, 2048]), ("down", 4096, 14336, [8, 32, 128, 512, 2048]),
              ("kv", 2048, 4096, [1, 16, 64, 256, 1024, 4096]), ("sq8k", 8192, 8192, [16, 128, 1024, 8192]),
              ("up", 14336, 4096, [16, 256, 4096]), ("lmhead", 128256, 4096, [1, 64, 512])]
GEMM2_FP8 = [("o", 4096, 4096, [32, 128, 512, 2048, 4096]), ("down", 4096, 14336, [32, 128, 512, 2048, 4096]),
             ("gateup", 28672, 4096, [32, 128, 512, 2048, 4096]), ("qkv", 6144, 4096, [16, 64, 256, 1024, 8192]),
             ("kv", 2048, 4096, [16, 256, 4096]), ("sq8k", 8192, 8192, [16, 1024, 8192])]
# Shapes already in h200-torch-2026.json, timed again: their spread is the measurement noise the fit cannot beat.
GEMM2_REPEATS = [("bf16", "o", 4096, 4096, 1), ("bf16", "o", 4096, 4096, 16), ("bf16", "o", 4096, 4096, 64),
                 ("bf16", "qkv", 6144, 4096, 64), ("fp8", "o", 4096, 4096, 64), ("fp8", "down", 4096, 14336, 16)]


def gemm_entry(dtype, label, n, k, m, suffix="", **timing):
    spec = {"kind": "gemm", "m": m, "n": n, "k": k, "dtype": dtype, "count": 1, "label": label}
    note = "" if not timing else f"inputs rotated over {timing.get('max_copies')} copies (L2 test)"
    if dtype == "bf16":
        record(f"gemm-bf16-{label}-m{m}{suffix}", spec, "cublas",
               lambda m=m, n=n, k=k: (randn(m, k), randn(k, n)), lambda a, b: torch.matmul(a, b), note=note, **timing)
        return
    one = torch.ones((), device=DEV, dtype=torch.float32) if not PLAN else None

    def mk(m=m, n=n, k=k):
        return (randn(m, k, dtype=torch.float8_e4m3fn), randn(n, k, dtype=torch.float8_e4m3fn))
    record(f"gemm-fp8-{label}-m{m}{suffix}", spec, "cublaslt",
           mk, lambda a, b: torch._scaled_mm(a, b.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16), note=note, **timing)


def gemm2():
    for label, n, k, ms in GEMM2_BF16:
        for m in ms:
            gemm_entry("bf16", label, n, k, m)
    for label, n, k, ms in GEMM2_FP8:
        for m in ms:
            gemm_entry("fp8", label, n, k, m)
    for dtype, label, n, k, m in GEMM2_REPEATS:
        gemm_entry(dtype, label, n, k, m, suffix="-r2")
    # The same shapes over 1 GiB of input copies (up to 64) instead of 256 MiB (up to 8): 8 copies of a 16-32 MiB
    # weight are only 2-4x the 60 MiB L2, and o-shaped GEMMs read their weights faster than HBM can deliver
    # (fp8 o-m64 vs bf16 o-m64: 2.9 us for 16 MiB more, 5.8 TB/s). If these come out slower, L2 hits inflated them.
    for dtype, label, n, k, m in GEMM2_REPEATS:
        gemm_entry(dtype, label, n, k, m, suffix="-l2big", defeat_bytes=2**30, max_copies=64)


def merge_entry(rows, ways, hd):
    spec = {"kind": "merge", "rows": rows, "ways": ways, "headDim": hd, "layers": 1}

    def mk(rows=rows, ways=ways, hd=hd):
        return (randn(ways, rows, hd, dtype=torch.float32), randn(ways, rows, dtype=torch.float32))

    def merge(o, lse):
        m = lse.amax(0)
        w = torch.exp(lse - m)
        return (w.unsqueeze(-1) * o).sum(0) / w.sum(0).unsqueeze(-1)
    record(f"merge-r{rows}-w{ways}" + ("" if hd == 128 else f"-d{hd}"), spec, "torch-eager", mk, merge)


def merge2():
    """The eager merge's cost depends on rows x ways x headDim (bytes) and on the six launches: both ends of each."""
    for rows, ways, hd in [(512, 2, 128), (512, 33, 128), (2048, 5, 128), (2048, 65, 128), (8192, 2, 128), (8192, 9, 128),
                           (32768, 2, 128), (32768, 33, 128), (131072, 3, 128), (131072, 9, 128), (1024, 129, 128),
                           (4096, 17, 64), (16384, 17, 64)]:
        merge_entry(rows, ways, hd)


def router_entry(b, chunks, k):
    spec = {"kind": "router", "requests": b, "chunks": chunks, "topK": k, "kvHeads": 8, "groupSize": 4, "headDim": 128,
            "layers": 1, "dtype": "bf16"}

    def mk(b=b, chunks=chunks):
        return (randn(8, b * 4, 128), randn(8, 128, chunks))

    def route(q, c, b=b, chunks=chunks, k=k):
        s = torch.bmm(q, c).view(8, b, 4, chunks).sum(2)
        return torch.topk(s, k, dim=-1)
    record(f"router-b{b}-c{chunks}-k{k}", spec, "torch-eager", mk, route)


def router2():
    """The eager router (bmm, group sum, topk): requests, chunks and topK each varied over two decades."""
    for b, chunks, k in [(16, 256, 16), (16, 4096, 64), (64, 256, 32), (64, 1024, 64), (64, 4096, 256), (128, 2048, 128),
                         (256, 64, 8), (256, 4096, 64), (512, 512, 32), (1024, 256, 64), (1024, 4096, 256), (2048, 1024, 64),
                         (4096, 256, 16), (4096, 1024, 128)]:
        router_entry(b, chunks, k)


# ---------------------------------------------------------------- FP8 / int8 attention, where this PyTorch has it
def probe_lowp():
    """Which low-precision attention paths run here: SDPA per backend and dtype, and FlashAttention-3's fp8 path if
    flash_attn_interface is installed. Returns the working (name, dtype, call) triples; prints every attempt."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    found = []
    tries = [(n, be) for n, be in [("sdpa-flash", "FLASH_ATTENTION"), ("sdpa-cudnn", "CUDNN_ATTENTION"),
                                   ("sdpa-efficient", "EFFICIENT_ATTENTION"), ("sdpa-math", "MATH")] if hasattr(SDPBackend, be)]
    dtypes = [("fp8", getattr(torch, "float8_e4m3fn", None)), ("int8", torch.int8)]
    for dname, dt in dtypes:
        if dt is None:
            print(f"lowp probe: torch has no {dname} dtype", flush=True)
            continue
        for name, be in tries:
            def call(q, k, v, be=getattr(SDPBackend, be)):
                with sdpa_kernel([be]):
                    return F.scaled_dot_product_attention(q, k, v)
            try:
                q = randn(2, 8, 64, 128).to(dt)
                k = randn(2, 8, 256, 128).to(dt)
                out = call(q, k, k)
                torch.cuda.synchronize()
                print(f"lowp probe: {name} {dname}: ok, output {out.dtype}", flush=True)
                found.append((name, dname, dt, call))
            except Exception as ex:  # noqa: BLE001 - the probe's answer is the exception
                print(f"lowp probe: {name} {dname}: no ({type(ex).__name__}: {str(ex).splitlines()[0][:110] if str(ex) else ''})", flush=True)
    try:
        import flash_attn_interface as fa3  # FlashAttention-3 (Hopper), has an fp8 forward
        dt = torch.float8_e4m3fn

        def call3(q, k, v):  # FA3 takes (batch, seq, heads, dim)
            return fa3.flash_attn_func(q, k, v)
        q = randn(2, 64, 8, 128).to(dt)
        k = randn(2, 256, 8, 128).to(dt)
        call3(q, k, k)
        torch.cuda.synchronize()
        print("lowp probe: flash_attn_interface (FA3) fp8: ok", flush=True)
        found.append(("fa3", "fp8", dt, call3))
    except Exception as ex:  # noqa: BLE001
        print(f"lowp probe: flash_attn_interface (FA3) fp8: no ({type(ex).__name__}: {str(ex)[:110]})", flush=True)
    return found


def lowp():
    """FP8/int8 attention at the bf16 rows' shapes, through whatever probe_lowp found; nothing when it found nothing.
    KV and math both in the low dtype (mathDtype = kvDtype): these kernels run the products on the tensor cores."""
    if PLAN:
        found = [("sdpa-cudnn", "fp8", None, None), ("fa3", "fp8", None, None)]
    else:
        found = probe_lowp()
    if not found:
        print("lowp: no FP8 or int8 attention path in this PyTorch; nothing measured", flush=True)
        return
    for name, dname, dt, call in found:
        fa3 = name == "fa3"
        # decode (one query token per request, GQA 32/8): FA3 takes GQA natively; SDPA's fp8 paths may not take
        # enable_gqa, so the 4 query heads of a KV head are packed as 4 query rows (same bytes, same products).
        for b, u in [(1, 65536), (8, 16384), (16, 32768), (64, 16384), (4, 131072), (128, 8192)]:
            spec = {"kind": "decodeAttention", "requests": b, "totalTokens": b * u, "maxTokens": u, "qHeads": 32, "kvHeads": 8,
                    "headDim": 128, "layers": 1, "kvDtype": dname, "mathDtype": dname}
            if fa3:
                mk = lambda b=b, u=u, dt=dt: (randn(b, 1, 32, 128).to(dt), randn(b, u, 8, 128).to(dt), randn(b, u, 8, 128).to(dt))
            else:
                mk = lambda b=b, u=u, dt=dt: (randn(b, 8, 4, 128).to(dt), randn(b, 8, u, 128).to(dt), randn(b, 8, u, 128).to(dt))
            record(f"decode-{dname}-{name}-b{b}-u{u}", spec, "sdpa", mk, call,
                   note=f"{name} {dname}" + ("" if fa3 else "; GQA group packed as 4 query rows"))
        impl = "sdpa-flash" if fa3 or name == "sdpa-flash" else "sdpa-cudnn"
        for s_, c, b in [(262144, 16384, 16), (262144, 4096, 64), (262144, 1024, 16), (1048576, 16384, 64), (65536, 4096, 1024),
                         (262144, 32768, 256)]:
            n = s_ // c
            rows = b * 4
            spec = {"kind": "sharedAttention", "chunkTokens": c, "histogram": [{"queries": b, "units": n * 8}], "kvHeads": 8,
                    "groupSize": 4, "headDim": 128, "layers": 1, "kvDtype": dname, "mathDtype": dname}
            if fa3:
                mk = lambda n=n, c=c, rows=rows, dt=dt: (randn(n * 8, rows, 1, 128).to(dt), randn(n * 8, c, 1, 128).to(dt), randn(n * 8, c, 1, 128).to(dt))
            else:
                mk = lambda n=n, c=c, rows=rows, dt=dt: (randn(n, 8, rows, 128).to(dt), randn(n, 8, c, 128).to(dt), randn(n, 8, c, 128).to(dt))
            record(f"shared-{dname}-{name}-s{s_}-c{c}-b{b}", spec, impl, mk, call, note=f"{name} {dname}; {n} chunks x 8 KV heads, rows = {b} x 4")


KERNELS = {}  # id -> CUDA kernels one call launched (name, count): which tile and split-K the library chose


def gemmkernels():
    """The kernels cuBLAS/cuBLASLt launch for every GEMM shape of gemms() and gemm2() (torch.profiler, one call after a
    warm-up): kernel names carry the tile size, cluster and split-K/stream-K choice, and a separate splitKreduce kernel
    shows up as a second launch. Stored in meta.gemmKernels; nothing is timed."""
    from torch.profiler import ProfilerActivity, profile
    shapes = [("bf16", lb, n, k, m) for lb, n, k in LLAMA_GEMMS for m in [1, 16, 64, 256, 1024, 4096, 8192]]
    shapes += [("fp8", lb, n, k, m) for lb, n, k in [("gateup", 28672, 4096), ("o", 4096, 4096), ("down", 4096, 14336)]
               for m in [16, 64, 256, 1024, 8192]]
    shapes += [("bf16", lb, n, k, m) for lb, n, k, ms in GEMM2_BF16 for m in ms]
    shapes += [("fp8", lb, n, k, m) for lb, n, k, ms in GEMM2_FP8 for m in ms]
    one = None if PLAN else torch.ones((), device=DEV, dtype=torch.float32)
    for dtype, label, n, k, m in shapes:
        id_ = f"gemm-{dtype}-{label}-m{m}"
        if PLAN:
            KERNELS[id_] = []
            continue
        if time.time() - T0 > DEADLINE_S:
            KERNELS[id_] = "skipped: deadline"
            continue
        try:
            if dtype == "bf16":
                a, b = randn(m, k), randn(k, n)
                fn = lambda: torch.matmul(a, b)  # noqa: E731
            else:
                a, b = randn(m, k, dtype=torch.float8_e4m3fn), randn(n, k, dtype=torch.float8_e4m3fn)
                fn = lambda: torch._scaled_mm(a, b.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)  # noqa: E731
            fn()
            torch.cuda.synchronize()
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                fn()
                torch.cuda.synchronize()
            KERNELS[id_] = [[e.key[:160], e.count] for e in prof.key_averages() if getattr(e, "device_type", None) is not None
                            and "CUDA" in str(e.device_type)]
            del a, b
        except Exception as ex:  # noqa: BLE001
            KERNELS[id_] = f"{type(ex).__name__}: {str(ex)[:150]}"
    torch.cuda.empty_cache() if not PLAN else None
    print(f"gemmkernels: {len(KERNELS)} shapes, e.g. " + "; ".join(f"{i}: {v}" for i, v in list(KERNELS.items())[:2])[:400], flush=True)


SECTIONS = {"gemm": "gemms", "decode": "decode_attention", "shared": "shared_attention", "mergerouter": "merge_and_router",
            "gemm2": "gemm2", "merge2": "merge2", "router2": "router2", "lowp": "lowp", "gemmkernels": "gemmkernels"}
DEFAULT_SECTIONS = "gemm,decode,shared,mergerouter"


def main():
    global PLAN
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true", help="only a few shapes (smoke test)")
    ap.add_argument("--sections", default=DEFAULT_SECTIONS, help=f"comma-separated, of {','.join(SECTIONS)} (default {DEFAULT_SECTIONS})")
    ap.add_argument("--plan", action="store_true", help="no GPU: write the planned entries with seconds 0, to check ids and specs")
    args = ap.parse_args()
    names = [x.strip() for x in args.sections.split(",") if x.strip()]
    bad = [x for x in names if x not in SECTIONS]
    if bad:
        ap.error(f"unknown section(s) {bad}; known: {list(SECTIONS)}")
    sections = [globals()[SECTIONS[x]] for x in names]
    PLAN = args.plan
    if PLAN:
        meta = {"plan": True, "sections": names}
    else:
        torch.manual_seed(0)
        props = torch.cuda.get_device_properties(0)
        meta = {"device": torch.cuda.get_device_name(0), "sms": props.multi_processor_count,
                "l2Bytes": getattr(props, "L2_cache_size", None), "torch": torch.__version__, "cuda": torch.version.cuda,
                "cudnn": torch.backends.cudnn.version(), "sections": names,
                "timing": "CUDA-graph replay of R calls rotating over input copies (> 256 MiB together); median of 5 replays"}
        print(json.dumps(meta), flush=True)
        try:
            meta["ceilings"] = ceilings()
            print(json.dumps(meta["ceilings"]), flush=True)
        except Exception as ex:  # noqa: BLE001
            meta["ceilings"] = {"error": str(ex)[:200]}

    def dump():
        with open(args.out, "w") as f:
            json.dump({"format": "moska-measurements/1", "gpu": "H200", "meta": {**meta, "gemmKernels": KERNELS} if KERNELS else meta,
                       "measurements": RESULTS, "failed": FAILED}, f, indent=1)
    for section in sections:
        try:
            section()
        except Exception as ex:  # noqa: BLE001
            FAILED.append({"id": section.__name__, "error": f"{type(ex).__name__}: {ex}"[:300]})
            print(f"-- {section.__name__} FAILED {type(ex).__name__}: {str(ex)[:150]}", flush=True)
        dump()
        print(f"-- {section.__name__} done at {time.time() - T0:.1f}s ({len(RESULTS)} measured so far)", flush=True)
    dump()
    print(f"\n{len(RESULTS)} measured, {len(FAILED)} failed/skipped, {time.time() - T0:.1f}s; wrote {args.out}")
    by = {}
    for r in RESULTS:
        key = f"{r['spec']['kind']}.{r['impl']}" + (f".{r['spec']['dtype']}" if r['spec']['kind'] == "gemm" else
                                                     f" kv {r['spec']['kvDtype']}" if "kvDtype" in r['spec'] else "")
        by[key] = by.get(key, 0) + 1
    for key in sorted(by):
        print(f"  {key:40s} {by[key]:4d} shapes")
    for f in FAILED:
        print("FAILED", f["id"], f["error"][:150])

if __name__ == "__main__":
    sys.exit(main())
