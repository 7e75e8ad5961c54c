"""The patch types the fake API server accepts: JSON patch, merge patch, strategic merge patch, apply.

- ``application/json-patch+json``: RFC 6902 operations (``add``, ``remove``, ``replace``, ``move``, ``copy``,
  ``test``) with RFC 6901 pointers.
- ``application/merge-patch+json``: RFC 7386.
- ``application/strategic-merge-patch+json``: lists of objects that Kubernetes merges by key (``containers``
  and ``env`` by ``name``, ``conditions`` by ``type``, ``ports`` by ``containerPort``, ...) are merged item by
  item, and the ``$patch: delete|replace`` directives are honoured; other lists are replaced (kubectl cordon
  and ``rollout restart`` send such patches).
- ``application/apply-patch+yaml``: server-side apply; the object is created when missing and otherwise
  merged like a strategic merge patch (field ownership is not tracked).
"""

from __future__ import annotations

import copy
from typing import Any

from aks_windows_ops.testing.kube.objects import ApiError

__all__ = ["PATCH_TYPES", "json_patch", "strategic_merge"]

PATCH_TYPES = frozenset(
    {
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    }
)
#: Merge keys of the lists served (from the Kubernetes API's ``patchMergeKey`` tags).
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "addresses": "type",
    "ports": "containerPort",
    "tolerations": "key",
    "ownerReferences": "uid",
    "hostAliases": "ip",
}


def _bad(message: str) -> ApiError:
    return ApiError(422, "Invalid", message)


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _bad(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            raise _bad(f"the path /{'/'.join(parts)} does not exist")
    return doc


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return copy.deepcopy(value)
    parent = _walk(doc, parts[:-1])
    key = parts[-1]
    if isinstance(parent, dict):
        parent[key] = copy.deepcopy(value)
    elif isinstance(parent, list):
        index = len(parent) if key == "-" else int(key) if key.isdigit() else -1
        if not 0 <= index <= len(parent):
            raise _bad(f"index {key} is out of range")
        parent.insert(index, copy.deepcopy(value))
    else:
        raise _bad(f"cannot add at /{'/'.join(parts)}")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        raise _bad("cannot remove the whole document")
    parent = _walk(doc, parts[:-1])
    key = parts[-1]
    if isinstance(parent, dict) and key in parent:
        return parent.pop(key)
    if isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
        return parent.pop(int(key))
    raise _bad(f"the path /{'/'.join(parts)} does not exist")


def json_patch(target: Any, operations: Any) -> Any:
    """Apply an RFC 6902 JSON patch and return the new document.

    Raises:
        ApiError: 400 when the patch is not a list of operations, 422 when an operation cannot apply.
    """
    if not isinstance(operations, list):
        raise ApiError(400, "BadRequest", "a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ApiError(400, "BadRequest", "each JSON patch operation needs 'op' and 'path'")
        parts = _pointer(str(op["path"]))
        kind = op["op"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise ApiError(400, "BadRequest", f"the {kind} operation needs a value")
        if kind == "add":
            doc = _add(doc, parts, op["value"])
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            _walk(doc, parts)
            if parts:
                _remove(doc, parts)
            doc = _add(doc, parts, op["value"])
        elif kind in ("move", "copy"):
            source = _pointer(str(op.get("from", "")))
            value = copy.deepcopy(_walk(doc, source))
            if kind == "move":
                _remove(doc, source)
            doc = _add(doc, parts, value)
        elif kind == "test":
            if _walk(doc, parts) != op["value"]:
                raise _bad(f"testing value /{'/'.join(parts)} failed")
        else:
            raise ApiError(400, "BadRequest", f"unknown JSON patch operation {kind!r}")
    return doc


def _merge_list(field: str, target: list[Any], patch: list[Any]) -> list[Any]:
    key = _MERGE_KEYS.get(field)
    if key is None or not all(isinstance(item, dict) for item in [*target, *patch]):
        return [copy.deepcopy(item) for item in patch if not (isinstance(item, dict) and "$patch" in item)]
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [copy.deepcopy(i) for i in patch if i.get("$patch") != "replace"]
    result = [copy.deepcopy(item) for item in target]
    for item in patch:
        directive = item.get("$patch")
        index = next((i for i, old in enumerate(result) if old.get(key) == item.get(key)), None)
        if directive == "delete":
            if index is not None:
                result.pop(index)
            continue
        clean = {k: v for k, v in item.items() if k != "$patch"}
        if index is None:
            result.append(clean)
        else:
            result[index] = strategic_merge(result[index], clean)
    return result


def strategic_merge(target: Any, patch: Any) -> Any:
    """Apply a strategic merge patch (see the module docstring for what is merged by key)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if key.startswith("$setElementOrder/") or key.startswith("$deleteFromPrimitiveList/"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(key, result[key], value)
        elif isinstance(value, list):
            result[key] = _merge_list(key, [], value)
        else:
            merged = strategic_merge(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    return result
