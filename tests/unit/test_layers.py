"""The package's modules import one way: no cycles (but the CLI's command registration), no
underscored name shared across modules, and the public facade imported only from above it."""

import ast
from pathlib import Path

import nnspeed

ROOT = Path(nnspeed.__file__).parent
# cli.app imports every command module so that each registers its command on the app.
ALLOWED_CYCLES = {"nnspeed.cli"}
# The facade and the entry points above it; nothing below them imports nnspeed.api.
ABOVE_API = {"nnspeed", "nnspeed.api", "nnspeed.pytest_plugin", "nnspeed.__main__"}


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for f in ROOT.rglob("*.py"):
        parts = list(f.relative_to(ROOT.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if package else parts)] = (f, package)
    return out


def _imports(modules):
    """(module, imported module, name or None) for every nnspeed import, function bodies included."""
    for mod, (path, package) in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if package else mod.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not target.startswith("nnspeed"):
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    yield (mod, sub, None) if sub in modules else (mod, target, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("nnspeed"):
                        yield mod, alias.name, None


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_but_the_cli_registration():
    modules = _modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for mod, target, _ in _imports(modules):
        if target in modules and target != mod:
            edges[mod].add(target)
    cycles = [c for c in _cycles(edges) if not all(m.rsplit(".", 1)[0] in ALLOWED_CYCLES for m in c)]
    assert cycles == []


def test_no_underscored_name_is_imported_across_modules():
    modules = _modules()
    shared = [
        (mod, f"{target}.{name}")
        for mod, target, name in _imports(modules)
        if name and name.startswith("_") and not name.startswith("__")
    ]
    assert shared == []


def test_only_the_layers_above_it_import_the_public_facade():
    modules = _modules()
    users = {mod for mod, target, _ in _imports(modules) if target == "nnspeed.api"}
    assert {m for m in users if m not in ABOVE_API and not m.startswith("nnspeed.cli")} == set()


def test_the_walk_sees_what_it_checks():
    # The checks above pass on an empty graph too: make sure the walk found the package.
    modules = _modules()
    found = list(_imports(modules))
    assert {"nnspeed.api", "nnspeed.cli.app", "nnspeed.prediction.pricing", "nnspeed.workloads.registry"} <= set(
        modules
    )
    assert any(t == "nnspeed.workloads.registry" for _, t, _ in found)
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_the_cli_raises_no_error_of_its_own():
    """Validation lives in the library, where a Python caller meets it too: the CLI parses,
    calls and prints, and raises only typer's exits or an error the library handed it."""
    found = []
    for f in sorted((ROOT / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            if isinstance(node.exc, ast.Name) and node.exc.id.islower():  # an error caught or handed over
                continue
            call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if not (isinstance(call, ast.Attribute) and call.attr in ("Exit", "Abort")):
                found.append(f"{f.name}:{node.lineno}")
    assert found == []


def _parameters(fn: ast.FunctionDef) -> int:
    a = fn.args
    return len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + (a.vararg is not None) + (a.kwarg is not None)


def test_no_command_function_takes_more_than_twelve_parameters():
    """A command's options travel as one request object, not as a long signature."""
    files = [*sorted((ROOT / "commands").glob("*.py")), ROOT / "api.py"]
    long = [
        f"{f.name}:{node.name} ({_parameters(node)})"
        for f in files
        for node in ast.walk(ast.parse(f.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _parameters(node) > 12
    ]
    assert long == []


def test_each_command_runs_a_frozen_request_that_validates_itself():
    """``commands/<name>.py`` with ``run(request, *, store, events)``: its request is a frozen,
    keyword-only dataclass whose ``validate()`` checks it without side effects."""
    import dataclasses
    import importlib
    import inspect

    runs = []
    for f in sorted((ROOT / "commands").glob("*.py")):
        module = importlib.import_module(f"nnspeed.commands.{f.stem}")
        run = getattr(module, "run", None)
        if run is None or inspect.getmodule(run) is not module:
            continue
        runs.append(f.stem)
        params = inspect.signature(run, eval_str=True).parameters
        request = next(iter(params.values())).annotation
        assert dataclasses.is_dataclass(request), f.stem
        assert request.__dataclass_params__.frozen, f.stem
        assert all(field.kw_only for field in dataclasses.fields(request)), f.stem
        assert callable(getattr(request, "validate", None)), f.stem
        assert list(params)[1:] == ["store", "events"], f.stem
        returned = inspect.signature(run, eval_str=True).return_annotation
        assert returned not in (dict, inspect.Signature.empty) and isinstance(returned, type), f.stem
        assert all(params[p].kind is inspect.Parameter.KEYWORD_ONLY for p in ("store", "events")), f.stem
    every = {"bench", "capacity", "check", "compare", "explain", "fleet", "generate", "history", "machine"}
    assert every | {"optimize", "predict", "report", "show", "study", "sweep", "train"} <= set(runs)
