"""The driver and the chunk task of an hf render on Ray."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import ray

# hf's exit status when a retry may fix the failure (a browser that crashed, a full disk that
# was cleared); any other failure is the input's fault and fails the render at once. hf
# decides which is which, so the list of codes lives in one place.
RETRYABLE_EXIT = 75


class HfError(Exception):
    """An ``hf`` command failed; ``code`` is its ``error[CODE]``."""

    def __init__(self, command: str, code: str, message: str):
        # All three in args, so the error pickles (Ray ships it from the task to the driver).
        super().__init__(command, code, message)
        self.command, self.code, self.message = command, code, message

    def __str__(self) -> str:
        return f"hf {self.command} failed: error[{self.code}]: {self.message}"


class RetryableHfError(HfError):
    """An ``hf`` failure worth retrying: it exited with ``RETRYABLE_EXIT``."""


@dataclasses.dataclass
class ChunkReport:
    """One chunk as its task reported it."""

    index: int
    frames: int
    node: str
    seconds: float
    first_frame_seconds: Optional[float]


@dataclasses.dataclass
class RenderReport:
    """Where the time of a render went."""

    output: str
    frames: int
    plan_hash: str
    plan_seconds: float
    chunks: list
    assemble_seconds: float
    total_seconds: float


def hf_binary(explicit: Optional[str] = None) -> str:
    """The ``hf`` to run: ``explicit``, else ``$HF_BIN``, else ``hf`` on the ``PATH``."""
    found = explicit or os.environ.get("HF_BIN") or shutil.which("hf")
    if not found:
        raise FileNotFoundError("no hf binary: pass --hf PATH, set HF_BIN, or put hf on the PATH")
    return str(Path(found).resolve())


def run_hf(hf: str, args: Sequence[str], command: str) -> list:
    """Run ``hf args...`` with ``--json``; return the JSON lines it printed, or raise HfError."""
    done = subprocess.run([hf, *args, "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        stderr = done.stderr.strip()
        code = "ERROR"
        if "error[" in stderr:
            code = stderr.split("error[", 1)[1].split("]", 1)[0]
        error = RetryableHfError if done.returncode == RETRYABLE_EXIT else HfError
        raise error(command, code, stderr.splitlines()[-1] if stderr else f"exit {done.returncode}")
    lines = []
    for line in done.stdout.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return lines


def event(lines: list, name: str) -> dict:
    """The JSON line of ``event``."""
    for line in lines:
        if isinstance(line, dict) and line.get("event") == name:
            return line
    raise RuntimeError(f"hf printed no {name} event")


def pack(directory: Path) -> bytes:
    """The directory's files as an uncompressed tar, in name order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(directory.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(directory)), recursive=False)
    return buffer.getvalue()


def unpack(data: bytes, directory: Path) -> None:
    """Extract a ``pack`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
        archive.extractall(directory, filter="data")


@ray.remote(num_cpus=1, max_retries=3, retry_exceptions=[RetryableHfError])
def render_chunk_task(hf: str, plan_hash: str, plan: bytes, index: int, workers: str):
    """Render chunk ``index`` of the plan on this node; return the packed chunk and its report."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hf-ray-chunk-") as work:
        # Each task unpacks the plan for itself (hf render-chunk checks its hash) and leaves
        # nothing behind on the node.
        plan_dir = Path(work) / plan_hash
        unpack(plan, plan_dir)
        out = Path(work) / "chunk"
        lines = run_hf(
            hf,
            ["render-chunk", str(plan_dir), "--chunk", str(index), "-o", str(out), "-w", workers],
            f"render-chunk {index}",
        )
        rendered = event(lines, "chunk-rendered")
        first = (rendered.get("timings") or {}).get("first_frame")
        report = ChunkReport(
            index=index,
            frames=rendered["chunk"]["frames"]["count"],
            node=ray.get_runtime_context().get_node_id()[:12],
            seconds=time.monotonic() - started,
            first_frame_seconds=None if first is None else first["secs"] + first["nanos"] / 1e9,
        )
        return index, pack(out), report


def render(
    project: str,
    output: str,
    chunks: int,
    render_flags: Sequence[str] = (),
    hf: Optional[str] = None,
    address: Optional[str] = None,
    workers: str = "1",
    progress: Callable[[str], None] = print,
) -> RenderReport:
    """Render ``project`` to ``output`` in ``chunks`` chunks on the Ray cluster at ``address``
    (or a local one): ``render_flags`` are ``hf render``'s (``--format``, ``-q``...)."""
    hf = hf_binary(hf)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hf-ray-") as work:
        work = Path(work)
        plan_dir = work / "plan"
        planned = event(
            run_hf(hf, ["plan", project, "-o", str(plan_dir), "--chunks", str(chunks), *render_flags], "plan"),
            "planned",
        )
        plan_seconds = time.monotonic() - started
        count = planned["chunks"]
        progress(f"planned {planned['frames']} frames in {count} chunks ({plan_seconds:.2f} s)")
        if not ray.is_initialized():
            # The package travels with the job: nodes need hf and Chrome, not hf-ray.
            package = str(Path(__file__).resolve().parent)
            ray.init(address=address, log_to_driver=False, runtime_env={"py_modules": [package]})
        plan_ref = ray.put(pack(plan_dir))
        pending = [
            render_chunk_task.remote(hf, planned["planHash"], plan_ref, k, workers) for k in range(count)
        ]
        reports = []
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            index, data, report = ray.get(done[0])
            unpack(data, work / "chunks" / str(index))
            reports.append(report)
            progress(
                f"chunk {index} done on node {report.node} in {report.seconds:.2f} s "
                f"({len(reports)}/{count})"
            )
        assemble_started = time.monotonic()
        chunk_dirs = [str(work / "chunks" / str(k)) for k in range(count)]
        run_hf(hf, ["assemble", str(plan_dir), *chunk_dirs, "-o", output], "assemble")
        assemble_seconds = time.monotonic() - assemble_started
    total = time.monotonic() - started
    progress(f"assembled {output} ({assemble_seconds:.2f} s; {total:.2f} s in all)")
    return RenderReport(
        output=output,
        frames=planned["frames"],
        plan_hash=planned["planHash"],
        plan_seconds=plan_seconds,
        chunks=sorted(reports, key=lambda r: r.index),
        assemble_seconds=assemble_seconds,
        total_seconds=total,
    )
