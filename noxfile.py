"""Developer and CI tasks: ``nox -l`` lists them.

``tests-3.9`` … ``tests-3.13``  the test suite on each supported Python (pytest-xdist, 2 workers);
                               the multi-process tests (marker ``processes``) on 3.13 only
``lint``                       ruff check, ruff format --check, mypy
``bench``                      every ``benchmarks/bench_*.py``, side by side with APScheduler 3.11.2
``docs``                       the Sphinx docs, warnings as errors

Arguments after ``--`` are passed through, e.g. ``nox -s tests-3.13 -- -x -q tests/test_job.py``
or ``nox -s bench -- --quick``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nox
from nox.command import CommandFailed

nox.needs_version = ">=2024.3.2"  # for nox.options.reuse_venv

PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]
# Pinned so that a new release cannot turn CI red overnight; bump them on purpose.
LINTERS = ["ruff == 0.17.6", "mypy == 2.4.1"]
ROOT = Path(__file__).resolve().parent

# Reuse session virtualenvs (installs still run, and are quick when nothing changed). uv makes
# the virtualenvs and installs into them when it is installed (minutes faster than pip for the
# test extra), else plain venv and pip. Never download a Python build, neither nox nor uv: the
# interpreters are the machine's own.
nox.options.reuse_venv = "yes"
nox.options.default_venv_backend = "uv|venv"
if hasattr(nox.options, "download_python"):
    nox.options.download_python = "never"
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
# uv trusts its own certificate bundle by default; the machine's store also holds the CAs of a
# proxy that pip is told about in its configuration, which uv does not read.
os.environ.setdefault("UV_SYSTEM_CERTS", "1")
nox.options.sessions = ["tests", "lint"]


def _expose_pyenv_pythons() -> None:
    """Put every pyenv-installed CPython 3.x on PATH so nox finds ``python3.X``.

    pyenv's shims only run the versions that ``pyenv global``/``pyenv local`` select; for any
    other version the ``python3.X`` shim exists on PATH but exits with an error, so nox would pick
    it up and fail instead of using the real interpreter. Putting the real ``bin`` directories
    first avoids that. Without pyenv nothing changes, and nox skips interpreters it cannot find.
    """
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    versions = pyenv_root / "versions"
    if not versions.is_dir():
        return

    def version_key(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.name))

    # Only plain CPython builds ("3.11.7"), newest first, so the newest patch release of each
    # minor version wins. (On Windows nox finds interpreters through the py launcher instead.)
    candidates = [p for p in versions.iterdir() if re.fullmatch(r"3\.\d+\.\d+", p.name)]
    bin_dirs = [
        str(version_dir / "bin")
        for version_dir in sorted(candidates, key=version_key, reverse=True)
        if (version_dir / "bin").is_dir()
    ]
    if bin_dirs:
        current = os.environ.get("PATH", "")
        os.environ["PATH"] = os.pathsep.join([*bin_dirs, current] if current else bin_dirs)


_expose_pyenv_pythons()


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite (server tests skip unless QUARTZITE_REQUIRE_SERVICES=1)."""
    session.install("-e", ".[test]")
    selection: list[str] = []
    if session.python != PYTHONS[-1] and not any(arg.startswith("-m") for arg in session.posargs):
        # The multi-process tests (chaos, kill -9, concurrent start) take minutes and test
        # the stores' server-side atomicity, which does not depend on the Python version: the
        # newest Python runs them, the others run everything else.
        selection = ["-m", "not processes"]
    session.run("pytest", "-n", "2", *selection, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check and mypy (config in pyproject.toml)."""
    session.install("-e", ".[test]", *LINTERS, "types-python-dateutil", "types-pytz")
    # Run all three even when one fails, so one run shows every problem.
    failed = []
    for command in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
        try:
            session.run(*command)
        except CommandFailed:
            failed.append(" ".join(command))
    if failed:
        session.error(f"failed: {'; '.join(failed)}")


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmarks/bench_*.py in turn; posargs (e.g. --quick) go to each script."""
    session.install(".[bench]")
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if not scripts:
        session.skip("no benchmarks/bench_*.py scripts yet")
    for script in scripts:
        session.log(f"--- {script.name}")
        session.run("python", str(script), *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the HTML docs with warnings as errors (output in docs/_build/html)."""
    session.install("-e", ".[docs]")
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
        *session.posargs,
    )
