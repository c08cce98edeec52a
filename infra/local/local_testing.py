"""What the infra/local tests share: running moto.sh, and keeping in-process mocks in-process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

MOTO_SH = Path(__file__).resolve().parent / "moto.sh"


def moto_sh(action: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`moto.sh ACTION` (start, stop, status, reset) with `env` (its port and run dir)."""
    return subprocess.run(["bash", str(MOTO_SH), action], env=env, capture_output=True, text=True, timeout=60)


class WithoutEndpoint:
    """A TestCase mixin for tests on moto's in-process mock: an endpoint in the environment
    (make test exports its stack's) would send their clients to a real server instead."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.endpoints = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("AWS_ENDPOINT_URL")}

    @classmethod
    def tearDownClass(cls):
        os.environ.update(cls.endpoints)
        super().tearDownClass()
