"""``hf-ray render DIR -o OUT --chunks K [render flags]``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from hf_ray.runner import HfError, render


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="hf-ray",
        description="Render an hf composition on a Ray cluster; flags hf-ray does not know "
        "are passed to hf plan (--format, -q, --fps, --segment-frames...).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("render", help="plan, render the chunks as Ray tasks, assemble")
    run.add_argument("dir", help="project directory holding index.html")
    run.add_argument("-o", "--output", required=True, help="the output file (a directory for png-sequence)")
    run.add_argument("--chunks", type=int, default=4, help="chunks to cut the render into (default 4)")
    run.add_argument("--hf", help="the hf binary on every node (default: $HF_BIN, then hf on the PATH)")
    run.add_argument("--address", help="the Ray cluster (default: $RAY_ADDRESS, else a local one)")
    run.add_argument("--chunk-workers", default="1", help="browsers per chunk task (a number or auto)")
    run.add_argument("--report", action="store_true", help="print the timing report as JSON at the end")
    args, render_flags = parser.parse_known_args(argv)
    try:
        report = render(
            args.dir,
            args.output,
            args.chunks,
            render_flags,
            hf=args.hf,
            address=args.address,
            workers=args.chunk_workers,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except HfError as error:
        print(f"error[{error.code}]: {error}", file=sys.stderr)
        return 1
    if args.report:
        print(json.dumps(dataclasses.asdict(report)))
    return 0
