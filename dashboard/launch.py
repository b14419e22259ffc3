"""Starting the dashboard: ``streamlit run dashboard/app.py`` with the config in the environment.

``run_dashboard`` runs it in the foreground for ``repwatch dashboard``; ``start_dashboard``
and ``wait_until_healthy`` start it in the background for tests and the demo.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import IO, Any

from repwatch.errors import RepwatchError

log = logging.getLogger(__name__)

CONFIG_ENV = "REPWATCH_CONFIG"  # how the app finds its repwatch.toml
APP_PATH = Path(__file__).resolve().parent / "app.py"
HEALTH_PATH = "/_stcore/health"
STOP_TIMEOUT_SECONDS = 10.0


class DashboardNotReady(RepwatchError):
    """The dashboard process exited or did not answer its health check in time."""


def dashboard_command(
    config_path: Path, *, port: int = 8501, host: str = "127.0.0.1", headless: bool = True
) -> list[str]:
    """The ``streamlit run`` command line for the dashboard.

    The config reaches the app through ``env_for``; its path also follows ``--`` as a
    script argument, so ``ps`` shows which configuration a dashboard serves.
    """
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_PATH),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true" if headless else "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        *secrets_options(config_path),
        "--",
        str(Path(config_path).resolve()),
    ]


def secrets_options(config_path: Path) -> list[str]:
    """``--secrets.files PATH`` with the ``st.login`` settings when single sign-on is on.

    ``repwatch.oidc.write_streamlit_secrets`` writes them (mode 0600) beside the config.
    Nothing when single sign-on is off or the config cannot be read: the app itself then
    shows what to fix.
    """
    from repwatch.config import load_config
    from repwatch.oidc import write_streamlit_secrets

    try:
        config = load_config(config_path)
    except RepwatchError:
        return []
    path = write_streamlit_secrets(config)
    return [] if path is None else ["--secrets.files", str(path.resolve())]


def env_for(config_path: Path) -> dict[str, str]:
    """This process's environment plus ``REPWATCH_CONFIG`` pointing at ``config_path``."""
    return {**os.environ, CONFIG_ENV: str(Path(config_path).resolve())}


def run_dashboard(config_path: Path, *, port: int = 8501, host: str = "127.0.0.1") -> int:
    """Run the dashboard in the foreground until it exits or Ctrl-C; returns its exit code."""
    process = subprocess.Popen(
        dashboard_command(config_path, port=port, host=host), env=env_for(config_path)
    )
    try:
        return process.wait()
    except KeyboardInterrupt:
        # The terminal sent SIGINT to Streamlit too; let it shut down, then report success.
        stop_dashboard(process)
        return 0


def start_dashboard(
    config_path: Path,
    *,
    port: int,
    host: str = "127.0.0.1",
    output: IO[Any] | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start the dashboard in the background; ``output`` receives its stdout and stderr.

    Pair with ``wait_until_healthy`` and, at the end, ``stop_dashboard``.
    """
    env = {**env_for(config_path), **(extra_env or {})}
    command = dashboard_command(config_path, port=port, host=host)
    log.info("starting dashboard on http://%s:%d", host, port)
    return subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output if output is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


def wait_until_healthy(
    url: str, timeout: float = 30.0, process: subprocess.Popen[Any] | None = None
) -> None:
    """Poll ``url`` + ``/_stcore/health`` until it answers ``ok``.

    Raises ``DashboardNotReady`` after ``timeout`` seconds, or at once when ``process``
    has exited.
    """
    health = url.rstrip("/") + HEALTH_PATH
    deadline = time.monotonic() + timeout
    last_problem = "no answer yet"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise DashboardNotReady(
                f"The dashboard exited with code {process.returncode} before it answered "
                f"{health}. Run it in the foreground (repwatch dashboard) to see why."
            )
        try:
            with urllib.request.urlopen(health, timeout=2) as response:
                if response.status == 200:
                    return
                last_problem = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            last_problem = str(exc)
        time.sleep(0.2)
    raise DashboardNotReady(
        f"The dashboard did not answer {health} within {timeout:.0f}s ({last_problem}). "
        "Check that the port is free and the process log for errors."
    )


def stop_dashboard(process: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT_SECONDS) -> int:
    """Stop a dashboard process: SIGINT, then SIGTERM, then SIGKILL; returns its exit code."""
    stops: tuple[Callable[[], None], ...] = (
        partial(process.send_signal, signal.SIGINT),
        process.terminate,
        process.kill,
    )
    for stop in stops:
        if process.poll() is not None:
            break
        stop()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            continue
    return process.wait()
