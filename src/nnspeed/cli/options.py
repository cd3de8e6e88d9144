"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

Budget = Annotated[float, typer.Option(help="latency budget per call in ms: share over budget, max fps, headroom")]
Fps = Annotated[float, typer.Option(help="frame rate to hold (budget = 1000/fps ms)")]
MinTime = Annotated[float, typer.Option(help="measure at least this many seconds per configuration")]
MaxTime = Annotated[float, typer.Option(help="measure at most this many seconds per configuration")]
Ci = Annotated[float, typer.Option(help="stop early once the median's 95%% CI is within ± this fraction")]
InputShape = Annotated[
    str,
    typer.Option(
        help="one [NAME=]DIMS[:DTYPE] per input, batch first: 1x3x224x224, 1x3x64x64,1x10 or "
        "input_ids=1x128:int64,attention_mask=1x128:int64 (named: by keyword)"
    ),
]
InputDtype = Annotated[str, typer.Option(help="py: input dtypes (float32, int64, …)")]
StoreUrl = Annotated[
    str, typer.Option("--store", help="SQLAlchemy URL of the store (default: NNSPEED_STORE or .nnspeed/nnspeed.db)")
]
ClusterAddress = Annotated[
    str,
    typer.Option(
        "--cluster",
        help="a Ray cluster: host:port, ray://host:10001, auto (RAY_ADDRESS or the running one) or local "
        "(start Ray here on 127.0.0.1)",
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", help="print the result as JSON")]
Samples = Annotated[bool, typer.Option(help="with --json: include every per-call sample")]
