"""What the infra/local tests share: running moto.sh, and keeping in-process mocks in-process."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
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


class MotoServer:
    """A TestCase mixin: a moto server of the class's own (moto.sh on the class's `port`) for
    its tests, with a scratch directory `tmp`, the `env` that points moto.sh and every client at
    it, and its `endpoint`."""

    port: str
    tmp_prefix = "hookline-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = Path(tempfile.mkdtemp(prefix=cls.tmp_prefix))
        cls.endpoint = f"http://127.0.0.1:{cls.port}"
        cls.env = {**os.environ, "HOOKLINE_MOTO_PORT": cls.port, "HOOKLINE_RUN_DIR": str(cls.tmp / "run"),
                   "AWS_ENDPOINT_URL": cls.endpoint}
        started = moto_sh("start", cls.env)
        if started.returncode != 0:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise RuntimeError(f"moto.sh start failed:\n{started.stdout}{started.stderr}")

    @classmethod
    def tearDownClass(cls):
        stopped = moto_sh("stop", cls.env)
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()
        if stopped.returncode != 0:
            raise RuntimeError(f"moto.sh stop failed:\n{stopped.stderr}")
