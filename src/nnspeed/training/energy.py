"""Energy of a run: measured where the machine has a meter (RAPL on Linux CPUs, NVML on NVIDIA
GPUs), estimated otherwise, and always labelled with the method."""

from __future__ import annotations

import glob
import json
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


def _wrap_range(counter: Path) -> float:
    """A RAPL counter's range in joules (it wraps to 0 past it)."""
    try:
        return int((counter.parent / "max_energy_range_uj").read_text()) / 1e6
    except (OSError, ValueError):
        return 2**32 / 1e6


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

    def _read(self) -> list[float]:
        if self.nvml is not None:
            return [self._pynvml.nvmlDeviceGetTotalEnergyConsumption(self.nvml) / 1e3]  # mJ → J
        return [int(p.read_text()) / 1e6 for p in self.rapl]  # µJ → J

    def _joules(self, start: list[float], end: list[float]) -> float:
        """The energy between two readings; a RAPL counter that wrapped adds its range back."""
        total = 0.0
        for i, (a, b) in enumerate(zip(start, end)):
            if b < a and self.nvml is None:
                b += _wrap_range(self.rapl[i])
            total += b - a
        return total

    def start(self) -> None:
        self._start = self._read() if (self.nvml is not None or self.rapl) else None

    def stop(self, seconds: float, threads: int) -> dict:
        if self._start is not None:
            joules = self._joules(self._start, self._read())
            what = "NVML total energy counter of GPU 0" if self.nvml is not None else "RAPL package counters"
            return {"joules": joules, "kwh": joules / 3.6e6, "method": f"measured: {what}", "measured": True}
        joules = WATTS_PER_THREAD * threads * seconds
        return {
            "joules": joules,
            "kwh": joules / 3.6e6,
            "method": f"estimated: no RAPL or NVML meter on this machine; {WATTS_PER_THREAD:g} W per thread × "
            f"{threads} threads × {seconds:.1f} s",
            "measured": False,
        }


def grid_intensity(country: str) -> tuple[float, str]:
    """gCO2/kWh of a country's electricity (ISO 3166 alpha-3), from the energy-mix table that
    codecarbon ships (read offline, without importing codecarbon)."""
    import importlib.util

    from .._optional import require
    from ..errors import InputError

    spec = importlib.util.find_spec("codecarbon")
    if spec is None:
        require("codecarbon", "energy", "--country")
    path = Path(spec.submodule_search_locations[0]) / "data" / "private_infra" / "global_energy_mix.json"
    table = json.loads(path.read_text())
    row = table.get((country or "").upper())
    if row is None or row.get("carbon_intensity") is None:
        raise InputError(f"unknown country code '{country}'; use an ISO 3166 alpha-3 code such as FRA, DEU or USA")
    return float(row["carbon_intensity"]), f"{row['country_name']} {row['year']} grid mix (codecarbon's table)"


def with_carbon(energy: dict, gco2_per_kwh: float | None, source: str | None = None) -> dict:
    if gco2_per_kwh is None:
        return {**energy, "gco2": None, "gco2_per_kwh": None, "grid": None}
    return {
        **energy,
        "gco2": energy["kwh"] * gco2_per_kwh,
        "gco2_per_kwh": gco2_per_kwh,
        "grid": source or "given with --gco2-per-kwh",
    }


def per(energy: dict, count: int) -> float | None:
    """Joules per unit (step, sample)."""
    return energy["joules"] / count if count else None
