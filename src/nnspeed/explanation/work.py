"""FLOPs and bytes of one forward call, per layer and per function run outside any layer.

A dispatch mode sees every operator the call runs, once per run: a module called k times
contributes its operators k times.  Each operator is tagged with a profiler range, so the
profiler's own tree says where it ran: inside which leaf module's range, or, outside every
layer, under which top-level operator (``aten::cat``, ``aten::add``, ``aten::reshape``).  Those
are the names the timed profile sees, so time, FLOPs and bytes join on them.

FLOPs are counted as torch.utils.flop_counter counts them (its formulas, autograd on so that
fused inference paths decompose into operators it knows).  Bytes are counted on the operators
that the timed call runs (inference mode): each tensor read and each tensor written once, a view
moving nothing and an in-place operator reading and writing its operand.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

LAYER = "nnspeed.layer::"
CALL = "nnspeed.call"
OP = "nnspeed.op::"
# Operators that allocate without touching memory.
ALLOCATORS = {"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided"}


@dataclass
class Work:
    """FLOPs and bytes of one call, by leaf module name and by outside function name."""

    layers: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    outside: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def flops(self, name: str, outside: bool = False) -> int:
        return (self.outside if outside else self.layers).get(name, [0, 0])[0]

    def bytes(self, name: str, outside: bool = False) -> int:
        return (self.outside if outside else self.layers).get(name, [0, 0])[1]

    @property
    def total_flops(self) -> int:
        return sum(f for f, _ in [*self.layers.values(), *self.outside.values()])


def _nbytes(t) -> int:
    size = t.numel() * t.element_size()
    try:
        return min(size, t.untyped_storage().nbytes())  # a broadcast (expanded) tensor is stored once
    except (RuntimeError, NotImplementedError):  # opaque layouts (mkldnn) have no storage to ask
        return size


def _storage(t):
    try:
        return t.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return id(t)


def op_bytes(func, args, kwargs, out) -> int:
    """Bytes one operator moves at least once: the tensors it reads and those it writes."""
    import torch
    from torch.utils._pytree import tree_leaves

    if func._overloadpacket.__name__ in ALLOCATORS:
        return 0
    schema = func._schema
    out_args = {a.name for a in schema.arguments if a.is_out}
    mutates = any(a.alias_info is not None and a.alias_info.is_write for a in schema.arguments)
    named = dict(zip((a.name for a in schema.arguments), args), **kwargs)
    reads = {
        (t.data_ptr(), t.numel()): t
        for name, v in named.items()
        if name not in out_args
        for t in tree_leaves(v)
        if isinstance(t, torch.Tensor)
    }
    written = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
    read_storages = {_storage(t) for t in reads.values()}
    if not mutates and all(_storage(t) in read_storages for t in written):
        # every output is a view of an input (a view, or a reshape that did not copy), or there
        # is no tensor output (a size or a scalar read): nothing streamed
        return 0
    return sum(_nbytes(t) for t in reads.values()) + sum(_nbytes(t) for t in written)


def _tagging_mode(registry: dict | None, records: list):
    """A dispatch mode that wraps each operator in a numbered profiler range and records its
    (FLOPs, bytes): FLOPs when ``registry`` (flop formulas) is given, else bytes."""
    from torch.profiler import record_function
    from torch.utils._python_dispatch import TorchDispatchMode

    class Tagging(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func.namespace == "profiler":  # the layer ranges opening and closing: no work
                return func(*args, **kwargs)
            packet = func._overloadpacket
            if registry is not None and packet not in registry:
                with self:  # as the flop counter does: an operator it has no formula for may decompose
                    r = func.decompose(*args, **kwargs)
                    if r is not NotImplemented:
                        return r
            i = len(records)
            records.append((0, 0))
            with record_function(f"{OP}{i}"):
                out = func(*args, **kwargs)
            if registry is not None:
                flops = registry[packet](*args, **kwargs, out_val=out) if packet in registry else 0
                records[i] = (int(flops), 0)
            else:
                records[i] = (0, op_bytes(func, args, kwargs, out))
            return out

    return Tagging()


def _owner(evt) -> tuple[bool, str] | None:
    """(outside, name) of the layer range or top-level operator a tagged operator ran under."""
    top, p = evt, evt.cpu_parent
    while p is not None:
        if p.name.startswith(LAYER):
            return False, p.name[len(LAYER) :]
        if p.name == CALL:
            return True, top.name
        top, p = p, p.cpu_parent
    return None


def _pass(model, args, hooked, registry: dict | None, grad: bool) -> dict[tuple[bool, str], int]:
    """One tagged, profiled call; FLOPs (``registry`` given) or bytes summed by owner."""
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    from .._silence import quiet

    records: list[tuple[int, int]] = []

    def run():
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            with hooked(), record_function(CALL), _tagging_mode(registry, records):
                model(*args)
        return prof

    with torch.enable_grad() if grad else torch.inference_mode():
        prof = quiet(run)
    totals: dict[tuple[bool, str], int] = defaultdict(int)
    for evt in prof.events():
        if evt.name.startswith(OP):
            owner = _owner(evt)
            if owner is not None:
                flops, nbytes = records[int(evt.name[len(OP) :])]
                totals[owner] += flops if registry is not None else nbytes
    return totals


def count_work(model, args: tuple, hooked) -> Work:
    """FLOPs and bytes of one call of ``model(*args)``; ``hooked()`` is a context in which each
    leaf module's run is a ``nnspeed.layer::NAME`` profiler range."""
    from torch.utils.flop_counter import FlopCounterMode

    from .flops import custom_mapping

    registry = FlopCounterMode(display=False, custom_mapping=custom_mapping()).flop_registry
    work = Work()
    for (outside, name), flops in _pass(model, args, hooked, registry, grad=True).items():
        (work.outside if outside else work.layers)[name][0] += flops
    for (outside, name), nbytes in _pass(model, args, hooked, None, grad=False).items():
        (work.outside if outside else work.layers)[name][1] += nbytes
    return work
