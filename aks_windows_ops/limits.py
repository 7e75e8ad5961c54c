"""Limits on every input file and pattern: a clear error in bounded time and memory (see docs/security.md).

Scenario files and Kubernetes manifests are YAML written by people or by other tools, so each is checked
before it is turned into Python objects:

- **size**: a file larger than the limit is refused from its size on disk, before it is read; text is
  refused from its length (:func:`read_text_limited`).
- **documents, nesting depth and nodes**: one pass over libyaml's event stream (C, flat, no objects built)
  counts documents, the nesting depth and the number of nodes *after alias expansion* (an alias counts as
  the whole node it names), and refuses a recursive alias. An "alias bomb" (a few lines whose aliases
  expand to billions of nodes) is refused from its count, long before anything is expanded
  (:func:`load_yaml_documents`).
- **numbers**: :func:`bounded_int` checks a count against its range (a node pool has 0 to 1000 nodes in
  AKS: https://learn.microsoft.com/azure/aks/quotas-skus-regions), with a message that names the field.
- **patterns**: :func:`compile_path_pattern` accepts the part of regular expression syntax that cannot
  backtrack catastrophically: no repetition of a group that itself repeats or alternates, at most two
  repetitions in all, no back-references or look-arounds, at most 256 characters. Matching such a
  pattern against a URL path (a few hundred characters) takes at most a polynomial, small number of steps.

Every refusal is an :class:`~aks_windows_ops.errors.InvalidInput` naming the file and the limit.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aks_windows_ops.errors import InvalidInput

__all__ = [
    "MANIFEST_LIMITS",
    "MAX_POOL_NODES",
    "SCENARIO_LIMITS",
    "YamlLimits",
    "bounded_int",
    "compile_path_pattern",
    "load_yaml",
    "load_yaml_documents",
    "read_text_limited",
]

#: Nodes in one AKS node pool: 0 (user pools) to 1000 (AKS quotas).
MAX_POOL_NODES = 1000


@dataclass(frozen=True)
class YamlLimits:
    """The limits one kind of YAML input is held to.

    Attributes:
        max_bytes: the largest file or text, in bytes (characters for text).
        max_documents: the most ``---`` documents in one file.
        max_nodes: the most nodes (mappings, sequences, scalars) after alias expansion, all documents together.
        max_depth: the deepest nesting of mappings and sequences.
    """

    max_bytes: int
    max_documents: int
    max_nodes: int
    max_depth: int


#: Scenario files: a handful of subscriptions, clusters and pools.
SCENARIO_LIMITS = YamlLimits(max_bytes=1 << 20, max_documents=1, max_nodes=200_000, max_depth=32)
#: Kubernetes manifests: big enough for large CRD bundles (deep OpenAPI schemas), no bigger.
MANIFEST_LIMITS = YamlLimits(max_bytes=16 << 20, max_documents=10_000, max_nodes=2_000_000, max_depth=128)

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{size} bytes"


def read_text_limited(path: str | os.PathLike[str], limits: YamlLimits, *, what: str = "file") -> str:
    """Read a UTF-8 file of at most ``limits.max_bytes``; a larger one is refused before it is read.

    At most ``max_bytes + 1`` bytes are ever read, so a file that grows meanwhile, or a device, is refused too.

    Raises:
        InvalidInput: the file is too large, unreadable or not UTF-8.
    """
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > limits.max_bytes:
            raise InvalidInput(
                f"{file}: the {what} is {_mib(size)}, more than the {_mib(limits.max_bytes)} allowed",
                remediation="Split it into smaller files, or check that this is the file you meant.",
            )
        with file.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise InvalidInput(f"{file}: cannot be read: {exc.strerror or exc}") from None
    if len(data) > limits.max_bytes:
        raise InvalidInput(f"{file}: the {what} is more than the {_mib(limits.max_bytes)} allowed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{file}: the {what} is not UTF-8 text") from None


def _scan(text: str, limits: YamlLimits, source: str) -> None:
    """Count documents, depth and expanded nodes on libyaml's event stream; refuse past a limit."""
    documents = nodes = 0
    open_collections: list[tuple[str | None, int]] = []
    sizes: dict[str, int] = {}
    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                sizes = {}
                if documents > limits.max_documents:
                    raise InvalidInput(f"{source}: more than {limits.max_documents} YAML documents")
            elif isinstance(event, yaml.ScalarEvent):
                nodes += 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                nodes += 1
                open_collections.append((event.anchor, nodes))
                if len(open_collections) > limits.max_depth:
                    raise InvalidInput(f"{source}: nested deeper than {limits.max_depth} levels")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                anchor, start = open_collections.pop()
                if anchor:
                    sizes[anchor] = nodes - start + 1
            elif isinstance(event, yaml.AliasEvent):
                if any(anchor == event.anchor for anchor, _ in open_collections):
                    raise InvalidInput(
                        f"{source}: the alias *{event.anchor} refers to a node that contains it"
                    )
                nodes += sizes.get(str(event.anchor), 1)
            if nodes > limits.max_nodes:
                raise InvalidInput(
                    f"{source}: more than {limits.max_nodes:,} YAML nodes once aliases are expanded",
                    remediation="Aliases that repeat large blocks many times are refused; write the data out.",
                )
    finally:
        loader.dispose()


def load_yaml_documents(text: str, limits: YamlLimits, *, source: str = "<text>") -> list[Any]:
    """Parse every YAML document of ``text`` (safe types only) within ``limits``.

    Args:
        text: the YAML (or JSON) text.
        limits: :data:`SCENARIO_LIMITS`, :data:`MANIFEST_LIMITS` or another :class:`YamlLimits`.
        source: the file name for messages.

    Raises:
        InvalidInput: the text is too large, has too many documents, nodes or levels, a recursive alias, a
            number Python refuses, or is not YAML.
    """
    if len(text) > limits.max_bytes:
        raise InvalidInput(
            f"{source}: the text is {_mib(len(text))}, more than the {_mib(limits.max_bytes)} allowed"
        )
    try:
        _scan(text, limits, source)
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source}: not valid YAML or JSON: {exc}") from None
    except (ValueError, OverflowError, RecursionError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(f"{source}: a value cannot be read: {type(exc).__name__}: {exc}") from None


def load_yaml(text: str, limits: YamlLimits, *, source: str = "<text>") -> Any:
    """Parse a single-document YAML text within ``limits`` (``None`` when empty).

    Raises:
        InvalidInput: as :func:`load_yaml_documents`, or the text holds more than one document.
    """
    documents = load_yaml_documents(text, limits, source=source)
    if len(documents) > 1:
        raise InvalidInput(f"{source}: expected one YAML document, found {len(documents)}")
    return documents[0] if documents else None


def bounded_int(value: Any, *, name: str, minimum: int, maximum: int) -> int:
    """Return ``value`` as an int if it is a whole number from ``minimum`` to ``maximum``.

    Accepts ints and whole floats (``3.0``); refuses booleans, text (``"1e7"``, which YAML reads as text),
    fractions and anything out of range, naming the field.

    Raises:
        InvalidInput: not a whole number in range.
    """
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    if number is None or not minimum <= number <= maximum:
        raise InvalidInput(f"{name} must be a whole number from {minimum} to {maximum}, got {shown}")
    return number


_PARSER: Any = importlib.import_module("re._parser" if hasattr(re, "_parser") else "sre_parse")
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_REFUSED = {"GROUPREF", "GROUPREF_EXISTS", "ASSERT", "ASSERT_NOT"}
MAX_PATTERN_LENGTH = 256
#: Each repetition can multiply the matching work by the path's length (a few hundred characters): two keep
#: the worst case polynomial and small.
MAX_PATTERN_REPEATS = 2


def _walk(items: Iterable[Any], inside_repeat: bool, text: str) -> None:
    for op, arg in items:
        name = str(op)
        if name in _REFUSED:
            raise InvalidInput(f"pattern {text!r}: back-references and look-arounds are not supported")
        if name in _REPEATS:
            body = arg[2]
            if inside_repeat or any(str(o) in _REPEATS or str(o) == "BRANCH" for o, _ in _flatten(body)):
                raise InvalidInput(
                    f"pattern {text!r}: a repeated group that itself repeats or has alternatives can take "
                    "exponential time; write it without nesting (e.g. `.*` or a glob-like literal path)"
                )
            _walk(body, True, text)
        elif name == "SUBPATTERN":
            _walk(arg[-1], inside_repeat, text)
        elif name == "BRANCH":
            for branch in arg[1]:
                _walk(branch, inside_repeat, text)


def _flatten(items: Iterable[Any]) -> Iterable[tuple[Any, Any]]:
    for op, arg in items:
        yield op, arg
        name = str(op)
        if name == "SUBPATTERN":
            yield from _flatten(arg[-1])
        elif name == "BRANCH":
            for branch in arg[1]:
                yield from _flatten(branch)
        elif name in _REPEATS:
            yield from _flatten(arg[2])


def compile_path_pattern(text: str, *, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """Compile a URL path pattern from the subset of regular expressions that cannot backtrack catastrophically.

    Allowed: literals, ``.``, classes (``[a-z]``), anchors, groups, alternatives and repetition of anything
    that does not itself repeat or alternate (``aks-.*$``, ``agentPools/(win|lin)[0-9]+``). Refused: nested
    repetition (``(a+)+``, ``(a|aa)*``), more than two repetitions in all, back-references, look-arounds,
    and patterns over 256 characters.

    Raises:
        InvalidInput: the pattern is refused or is not a regular expression.
    """
    if not isinstance(text, str):
        raise InvalidInput(f"a path pattern must be text, got {type(text).__name__}")
    if len(text) > MAX_PATTERN_LENGTH:
        raise InvalidInput(f"a path pattern is limited to {MAX_PATTERN_LENGTH} characters")
    try:
        parsed = _PARSER.parse(text, flags)
    except re.error as exc:
        raise InvalidInput(f"pattern {text!r} is not a regular expression: {exc}") from None
    items = parsed.data if hasattr(parsed, "data") else parsed
    _walk(items, False, text)
    if sum(1 for op, _ in _flatten(items) if str(op) in _REPEATS) > MAX_PATTERN_REPEATS:
        raise InvalidInput(
            f"pattern {text!r}: at most {MAX_PATTERN_REPEATS} repetitions (`*`, `+`, `{{m,n}}`) are allowed"
        )
    return re.compile(text, flags)
