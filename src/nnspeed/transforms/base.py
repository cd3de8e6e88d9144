"""A transformed workload is a new Workload with a source that names the transform."""

from __future__ import annotations

import copy
import dataclasses

from ..workloads.workload import Workload


def variant(w: Workload, tag: str, **changes) -> Workload:
    """A copy of ``w`` whose source ends in ``#tag`` (so stored results never mix variants)."""
    return dataclasses.replace(w, source=f"{w.source}#{tag}", meta={**w.meta, "transform": tag}, **changes)


def copied_model(w: Workload):
    return copy.deepcopy(w.model)
