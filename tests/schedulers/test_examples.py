"""The scheduler examples run to their end by themselves, printing their ticks.

Each runs in a subprocess: this is also where the gevent scheduler runs monkey-patched and the
Twisted scheduler runs on the global reactor, neither of which a test process can undo.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "schedulers"

#: example file → the third-party module it needs
REQUIREMENTS = {
    "asyncio_.py": None,
    "background.py": None,
    "blocking.py": None,
    "gevent_.py": "gevent",
    "qt.py": "PySide6",
    "tornado_.py": "tornado",
    "twisted_.py": "twisted",
}

pytestmark = pytest.mark.live


def test_every_example_is_listed() -> None:
    assert sorted(path.name for path in EXAMPLES.glob("*.py")) == sorted(REQUIREMENTS)


@pytest.mark.parametrize("name", sorted(REQUIREMENTS))
def test_example_runs(name: str) -> None:
    requirement = REQUIREMENTS[name]
    if requirement is not None and importlib.util.find_spec(requirement) is None:
        pytest.skip(f"{requirement} is not installed")

    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1")
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        cwd=EXAMPLES.parents[1],
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == "Running for three seconds"
    assert lines[-1] == "Scheduler shut down"
    assert sum(line.startswith("Tick!") for line in lines) >= 2, completed.stdout
