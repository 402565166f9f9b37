"""Render hf compositions on a Ray cluster.

The driver runs ``hf plan`` once, ships the sealed plan directory to the workers through Ray's
object store (no shared file system), runs ``hf render-chunk`` for every chunk as a Ray task
(retried when the failure is not the input's fault), gathers the chunk directories and runs
``hf assemble``. The output is the file ``hf render`` writes with the same flags, byte for
byte. Every node needs the ``hf`` binary and a headless Chrome (see ``Dockerfile``).
"""

from hf_ray.runner import HfError, RenderReport, render

__all__ = ["HfError", "RenderReport", "render"]
