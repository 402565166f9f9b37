"""``python -m hf_ray``: the ``hf-ray`` command."""

from hf_ray.cli import main

raise SystemExit(main())
