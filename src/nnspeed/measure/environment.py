"""The machine fingerprint stored with every record.

Reads /proc and package metadata only: it imports no optional backend, so recording the
environment never changes it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
from importlib import metadata

# CPU flags that decide which precisions and kernels are fast.
SPEED_FLAGS = (
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "amx_fp16",
    "asimd",
    "sve",
    "bf16",
    "i8mm",
)
PACKAGES = (
    "nnspeed",
    "torch",
    "numpy",
    "scipy",
    "onnx",
    "onnxruntime",
    "onnxruntime-gpu",
    "openvino",
    "transformers",
)


def _cpuinfo() -> tuple[str, set[str]]:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Hardware") and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model, flags


@functools.cache
def cpu_flags() -> frozenset[str]:
    """Every flag the kernel reports for the first CPU."""
    return frozenset(_cpuinfo()[1])


def _versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _gpus() -> list[dict]:
    """NVIDIA GPUs from nvidia-smi, without initialising CUDA in this process."""
    try:
        res = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if res.returncode != 0:
        return []
    gpus = []
    for line in res.stdout.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"name": parts[0], "driver": parts[1], "memory": parts[2]})
    return gpus


@functools.cache
def _static_fingerprint() -> dict:
    import psutil

    model, flags = _cpuinfo()
    env = {
        "cpu": model,
        "cpu_flags": sorted(f for f in SPEED_FLAGS if f in flags),
        "cores_physical": psutil.cpu_count(logical=False),
        "cores_logical": psutil.cpu_count(logical=True),
        "cpus_allowed": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "packages": _versions(),
        "gpus": _gpus(),
    }
    ident = {k: env[k] for k in ("cpu", "cores_logical", "memory_gb", "os", "gpus")}
    env["machine_id"] = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
    return env


def fingerprint() -> dict:
    """A JSON-able description of this machine and software (a fresh copy each call)."""
    return json.loads(json.dumps(_static_fingerprint()))


def physical_cores() -> int:
    return int(_static_fingerprint()["cores_physical"] or os.cpu_count() or 1)
