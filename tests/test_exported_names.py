"""Every public module of quartzite says what it exports, and exports what it defines.

For each module found under src/quartzite (private ``_name`` modules excluded): ``__all__``
exists, each name in it exists, and each public class or function defined in the module is in
it. A module that cannot be imported only because an optional third-party package (an extra)
is missing is skipped; any other import error fails.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import quartzite


def _public_module_names() -> list[str]:
    """Names of the package's public modules, found on disk without importing them."""
    names = ["quartzite"]

    def walk(path: Path, prefix: str) -> None:
        for info in pkgutil.iter_modules([str(path)]):
            if info.name.startswith("_"):
                continue
            name = f"{prefix}.{info.name}"
            names.append(name)
            if info.ispkg:
                walk(path / info.name, name)

    walk(Path(quartzite.__file__).parent, "quartzite")
    return sorted(names)


def _import_or_skip(name: str) -> ModuleType:
    if name.startswith("quartzite.contrib.django.") and not _django_configured():
        # Its models need configured settings; tests/contrib/django's conftest configures them
        # when that directory is collected in the same run (as in the full suite).
        pytest.skip(f"{name} needs Django configured (collect tests/contrib in the same run)")
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing = exc.name or ""
        if missing and missing.split(".")[0] != "quartzite":
            pytest.skip(f"{name} needs the optional package {missing!r}")
        raise


def _django_configured() -> bool:
    try:
        from django.conf import settings
    except ImportError:
        return False
    return bool(settings.configured)


def _defined_public_names(module: ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == module.__name__
    }


MODULES = _public_module_names()

# Gaps in modules other people own, reported to them; strict xfail, so a fixed module makes its
# entry fail here until it is removed. Keys: (test, module).
KNOWN_GAPS: dict[tuple[str, str], str] = {}


# Public names the contract (API.md §1) keeps out of a module's __all__ on purpose.
CONTRACT_UNLISTED = {
    "quartzite.util": {
        "asdate",
        "datetime_repr",
        "datetime_utc_add",
        "iscoroutinefunction_partial",
        "timedelta_seconds",
        "timezone_repr",
    },
}


def _params(test: str) -> list[object]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(reason=KNOWN_GAPS[test, name], strict=True))
        if (test, name) in KNOWN_GAPS
        else name
        for name in MODULES
    ]


def test_the_walk_finds_the_modules_we_know_of() -> None:
    assert {"quartzite.job", "quartzite.util", "quartzite.events"} <= set(MODULES)
    assert "quartzite.executors.pool" in MODULES
    assert not any(part.startswith("_") for name in MODULES for part in name.split("."))


@pytest.mark.parametrize("name", _params("all"))
def test_module_declares_all_with_names_that_exist(name: str) -> None:
    module = _import_or_skip(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert all(isinstance(item, str) for item in exported), f"{name}.__all__ holds non-strings"
    missing = sorted(item for item in exported if not hasattr(module, item))
    assert not missing, f"{name}.__all__ lists names the module lacks: {missing}"
    assert len(set(exported)) == len(exported), f"{name}.__all__ lists a name twice"


@pytest.mark.parametrize("name", _params("defined"))
def test_every_public_class_and_function_defined_in_a_module_is_exported(name: str) -> None:
    module = _import_or_skip(name)
    exported = set(getattr(module, "__all__", ()))
    unexported = sorted(
        _defined_public_names(module) - exported - CONTRACT_UNLISTED.get(name, set())
    )
    assert not unexported, f"{name} defines public names missing from __all__: {unexported}"


def test_a_definition_missing_from_all_is_reported() -> None:
    # The check itself can fail: a module with a public function outside __all__.
    module = ModuleType("quartzite_fake")
    exec("def visible(): pass\ndef _hidden(): pass\n__all__ = ()", vars(module))
    assert _defined_public_names(module) == {"visible"}
