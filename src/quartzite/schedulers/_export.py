"""The JSON format of ``export_jobs`` / ``import_jobs``.

Values that JSON cannot hold are tagged: an object whose state is a mapping (a trigger) is stored
as its class reference plus state; anything else (datetimes, time zones) as base64 pickle.
"""

from __future__ import annotations

import base64
import json
import pickle
from collections.abc import Mapping
from typing import Any

from ..util import obj_to_ref, ref_to_obj

CLASS_KEY = "__quartzite_class__"
STATE_KEY = "__quartzite_state__"
PICKLE_KEY = "__quartzite_pickle__"
FORMAT_VERSION = 1


def _encode(obj: Any) -> Any:
    if hasattr(obj, "__getstate__") and hasattr(obj, "__setstate__"):
        state = obj.__getstate__()
        if isinstance(state, Mapping):
            return {CLASS_KEY: obj_to_ref(obj.__class__), STATE_KEY: state}
    return {
        PICKLE_KEY: base64.b64encode(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)).decode("ascii")
    }


def _decode(obj: dict[str, Any]) -> Any:
    if PICKLE_KEY in obj:
        return pickle.loads(base64.b64decode(obj[PICKLE_KEY]))
    if obj.get(STATE_KEY) and CLASS_KEY in obj:
        cls = ref_to_obj(obj[CLASS_KEY])
        instance = cls.__new__(cls)
        instance.__setstate__(obj[STATE_KEY])
        return instance
    return obj


def dump_jobs(job_states: list[dict[str, Any]], scheduler_version: str, outfile: Any) -> None:
    """Write the job states as the export document to a text file object."""
    document = {
        "version": FORMAT_VERSION,
        "scheduler_version": scheduler_version,
        "jobs": job_states,
    }
    json.dump(document, outfile, default=_encode)


def load_job_states(infile: Any) -> list[dict[str, Any]]:
    """Read an export document from a text file object and return its job states.

    :raises ValueError: if the document is not an export of a version this code can read
    """
    document = json.load(infile, object_hook=_decode)
    if not isinstance(document, dict):
        raise ValueError(
            f"import_jobs: expected a JSON object written by export_jobs (with 'version' and "
            f"'jobs' keys), found a JSON {type(document).__name__} at the top level"
        )
    version = document.get("version", 1)
    if version != FORMAT_VERSION:
        raise ValueError(f"unrecognized version: {version}")
    return document["jobs"]


def write_export(job_states: list[dict[str, Any]], outfile: Any) -> None:
    """Write an export document to ``outfile``: a text file object, or a path to create."""
    from .. import version

    if hasattr(outfile, "write"):
        dump_jobs(job_states, version, outfile)
        return
    with open(outfile, "w", encoding="utf-8") as file:
        dump_jobs(job_states, version, file)


def read_export(infile: Any) -> list[dict[str, Any]]:
    """Read the job states of an export document from a text file object or a path."""
    if hasattr(infile, "read"):
        return load_job_states(infile)
    with open(infile, encoding="utf-8") as file:
        return load_job_states(file)
