"""Tests for the lazily computed version attributes of the top package (API contract §1)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
import textwrap
import types

import pytest

import quartzite

VERSION_NAMES = ("release", "version_info", "version", "__version__")


def load_fresh_package() -> types.ModuleType:
    """Execute ``quartzite/__init__.py`` again, as a new module that is not cached anywhere."""
    spec = importlib.util.spec_from_file_location(
        "quartzite_fresh_copy_for_tests", quartzite.__file__
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_distribution_version(monkeypatch: pytest.MonkeyPatch, result: str | None) -> list[str]:
    """Make ``importlib.metadata.version`` return ``result`` (or raise if ``None``)."""
    calls: list[str] = []

    def version(distribution_name: str) -> str:
        calls.append(distribution_name)
        if result is None:
            raise importlib.metadata.PackageNotFoundError(distribution_name)
        return result

    monkeypatch.setattr(importlib.metadata, "version", version)
    return calls


def test_installed_version() -> None:
    installed = importlib.metadata.version("quartzite")
    release = installed.split("-", 1)[0]
    assert quartzite.release == release
    assert quartzite.version_info == tuple(
        int(part) if part.isdigit() else part for part in release.split(".")
    )
    assert quartzite.version == ".".join(str(part) for part in quartzite.version_info[:3])
    assert quartzite.__version__ == quartzite.version
    assert isinstance(quartzite.release, str)
    assert isinstance(quartzite.version_info, tuple)


def test_all() -> None:
    assert set(quartzite.__all__) == set(VERSION_NAMES)


def test_attributes_are_computed_on_first_access(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_distribution_version(monkeypatch, "3.11.2")
    module = load_fresh_package()
    assert not set(VERSION_NAMES) & set(vars(module))
    assert calls == []

    assert module.version == "3.11.2"
    assert calls == ["quartzite"]
    # cached as plain module attributes: no second metadata lookup
    assert {name: vars(module)[name] for name in VERSION_NAMES} == {
        "release": "3.11.2",
        "version_info": (3, 11, 2),
        "version": "3.11.2",
        "__version__": "3.11.2",
    }
    assert module.release == "3.11.2"
    assert calls == ["quartzite"]


@pytest.mark.parametrize(
    ("installed", "release", "version_info", "version"),
    [
        ("3.11.2", "3.11.2", (3, 11, 2), "3.11.2"),
        ("0.1.0", "0.1.0", (0, 1, 0), "0.1.0"),
        ("3.11.2-local", "3.11.2", (3, 11, 2), "3.11.2"),
        ("3.11.2-a-b", "3.11.2", (3, 11, 2), "3.11.2"),
        ("4.0.0.post1", "4.0.0.post1", (4, 0, 0, "post1"), "4.0.0"),
        ("4.0.0a1", "4.0.0a1", (4, 0, "0a1"), "4.0.0a1"),
        ("4.1", "4.1", (4, 1), "4.1"),
    ],
)
def test_version_parsing(
    monkeypatch: pytest.MonkeyPatch,
    installed: str,
    release: str,
    version_info: tuple[int | str, ...],
    version: str,
) -> None:
    fake_distribution_version(monkeypatch, installed)
    module = load_fresh_package()
    assert module.release == release
    assert module.version_info == version_info
    assert module.version == version
    assert module.__version__ == version


def test_fallback_when_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_distribution_version(monkeypatch, None)
    module = load_fresh_package()
    assert module.__version__ == "3.5.0"
    assert module.release == "3.5.0"
    assert module.version_info == (3, 5, 0)
    assert module.version == "3.5.0"


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match=r"^module 'quartzite' has no attribute 'nope'$"):
        quartzite.nope


def test_from_import() -> None:
    from quartzite import __version__, release, version, version_info

    assert (release, version_info, version, __version__) == (
        quartzite.release,
        quartzite.version_info,
        quartzite.version,
        quartzite.__version__,
    )


def test_import_is_cheap() -> None:
    """Importing the package reads no distribution metadata."""
    code = textwrap.dedent(
        """
        import sys
        preloaded = "importlib.metadata" in sys.modules
        import quartzite
        assert preloaded or "importlib.metadata" not in sys.modules, "metadata imported"
        assert "release" not in vars(quartzite), "version computed at import"
        assert "version" not in vars(quartzite), "version computed at import"
        print(quartzite.version)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == quartzite.version
