"""Energy of a run: measured where the machine has a meter (RAPL on Linux CPUs, NVML on NVIDIA
GPUs), estimated otherwise, and always labelled with the method."""

from __future__ import annotations

import glob
from pathlib import Path

# With no meter: what codecarbon assumes for a CPU it does not know, per busy thread.
WATTS_PER_THREAD = 4.0


def _rapl_files() -> list[Path]:
    files = [Path(p) for p in glob.glob("/sys/class/powercap/intel-rapl:*/energy_uj") if p.count(":") == 1]
    return [p for p in files if _readable(p)]


def _readable(p: Path) -> bool:
    try:
        int(p.read_text())
        return True
    except (OSError, ValueError):
        return False


class EnergyMeter:
    """``start()`` then ``stop(seconds, threads)`` → ``{"kwh", "joules", "method", "measured"}``."""

    def __init__(self, device: str = "cpu"):
        self.device = device
        self.rapl = _rapl_files()
        self.nvml = None
        if device == "cuda":
            try:
                import pynvml

                pynvml.nvmlInit()
                self.nvml = pynvml.nvmlDeviceGetHandleByIndex(0)
                self._pynvml = pynvml
                pynvml.nvmlDeviceGetTotalEnergyConsumption(self.nvml)
            except Exception:
                self.nvml = None

    def _read(self) -> float:
        if self.nvml is not None:
            return self._pynvml.nvmlDeviceGetTotalEnergyConsumption(self.nvml) / 1e3  # mJ → J
        return sum(int(p.read_text()) for p in self.rapl) / 1e6  # µJ → J

    def start(self) -> None:
        self._start = self._read() if (self.nvml is not None or self.rapl) else None

    def stop(self, seconds: float, threads: int) -> dict:
        if self._start is not None:
            joules = self._read() - self._start
            what = "NVML total energy counter of GPU 0" if self.nvml is not None else "RAPL package counters"
            return {"joules": joules, "kwh": joules / 3.6e6, "method": f"measured: {what}", "measured": True}
        joules = WATTS_PER_THREAD * threads * seconds
        return {
            "joules": joules,
            "kwh": joules / 3.6e6,
            "method": f"estimated: no RAPL or NVML meter on this machine; {WATTS_PER_THREAD:g} W per thread × "
                      f"{threads} threads × {seconds:.1f} s",
            "measured": False,
        }  # fmt: skip


def with_carbon(energy: dict, gco2_per_kwh: float | None) -> dict:
    if gco2_per_kwh is None:
        return {**energy, "gco2": None, "gco2_per_kwh": None}
    return {**energy, "gco2": energy["kwh"] * gco2_per_kwh, "gco2_per_kwh": gco2_per_kwh}


def per(energy: dict, count: int) -> float | None:
    """Joules per unit (step, sample)."""
    return energy["joules"] / count if count else None
