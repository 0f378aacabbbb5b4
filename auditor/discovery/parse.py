"""Pure parsing: Prometheus target groups and Backstage entities into raw service tables.

No I/O here: the readers hand in parsed JSON/YAML documents and a ``where`` (the file or
URL) that every problem names. The output is a ``[[services]]``-shaped dict per service,
validated afterwards by the config file's own rules (:mod:`auditor.discovery.build`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from auditor.config.discovery import DiscoveryModel
from auditor.config.profiles import PRODUCTION_PROFILE

#: the label that names a service when ``labels`` maps none to ``name``
DEFAULT_NAME_LABEL = "job"
#: Backstage annotations the auditor reads (``metadata.annotations``)
ANNOTATION = "auditor.io/"
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
#: a Prometheus target: ``host``, ``host:port`` or ``[v6]:port`` — nothing that could smuggle
#: a path, credentials or another host into the URL built from it
_TARGET = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.\-_]*)(:\d{1,5})?$")

Raw = dict[str, Any]


def _name_label(source: DiscoveryModel) -> str:
    for label, target in source.labels.items():
        if target == "name":
            return label
    return DEFAULT_NAME_LABEL


def _mapped(source: DiscoveryModel, labels: Mapping[str, str]) -> dict[str, str]:
    """service field -> value, for every mapped label present (the relabel step)."""
    out: dict[str, str] = {}
    for label, target in source.labels.items():
        value = labels.get(label)
        if isinstance(value, str) and value.strip():
            out[target] = value.strip()
    name_label = _name_label(source)
    if "name" not in out and isinstance(labels.get(name_label), str):
        out["name"] = str(labels[name_label]).strip()
    return out


def base_service(source: DiscoveryModel, mapped: Mapping[str, str]) -> Raw:
    """The service table every source builds on: mapped labels over the source's defaults."""
    profile = mapped.get("profile", source.profile)
    return {
        "name": mapped["name"].lower(),
        "url": mapped["url"],
        "environment": mapped.get("environment", source.environment),
        "owner": mapped.get("owner", source.owner),
        "profile": None if profile == "none" else profile,
        "checks": [dict(c) for c in source.checks],
    }


def target_groups(
    data: Any, source: DiscoveryModel, where: str
) -> tuple[list[tuple[str, Raw]], list[str]]:
    """``[{"targets": [...], "labels": {...}}]`` -> ``(what, service table)`` per target, and
    one problem per bad group or target (``where`` names the file or URL)."""
    if not isinstance(data, list):
        return [], [f"{where}: must be a list of target groups ([{{targets, labels}}])"]
    out: list[tuple[str, Raw]] = []
    problems: list[str] = []
    for gi, group in enumerate(data):
        at = f"{where}: group {gi}"
        if not isinstance(group, Mapping):
            problems.append(f"{at}: must be an object with targets and labels")
            continue
        targets = group.get("targets")
        labels = group.get("labels") or {}
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            problems.append(f"{at}: targets must be a list of host:port strings")
            continue
        if not isinstance(labels, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            problems.append(f"{at}: labels must map strings to strings")
            continue
        scheme = labels.get("__scheme__", "http")
        if scheme not in ("http", "https"):
            problems.append(f"{at}: __scheme__ must be http or https, not {scheme!r}")
            continue
        for target in targets:
            merged = {**labels, "__address__": target}
            mapped = _mapped(source, merged)
            what = f"{at}, target {target!r}"
            if not _TARGET.match(target):
                problems.append(f"{what}: a target must be host or host:port")
                continue
            if "name" not in mapped:
                problems.append(
                    f"{what}: no {_name_label(source)!r} label to name the service "
                    '(map one with labels = { <label> = "name" })'
                )
                continue
            if "url" not in mapped:
                mapped["url"] = f"{scheme}://{target}"
            out.append((what, base_service(source, mapped)))
    return out, problems


def _scalar(value: str) -> Any:
    """An annotation value as the option it sets: numbers and booleans typed, else the text."""
    text = value.strip()
    if _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _apply_annotations(raw: Raw, notes: Mapping[str, Any], what: str) -> list[str]:
    """``auditor.io/checks`` adds kinds; ``auditor.io/<check>.<option>`` sets an option of the
    check with that name (``tls.warn_days``, ``ready.path``); unknown checks are problems."""
    problems: list[str] = []
    listed = notes.get(ANNOTATION + "checks")
    checks: list[Raw] = raw["checks"]
    if isinstance(listed, str):
        declared = {c.get("name") or c.get("kind") for c in checks}
        for kind in (k.strip() for k in listed.split(",")):
            if kind and kind not in declared:
                checks.append({"kind": kind})
                declared.add(kind)
    for key, value in sorted(notes.items()):
        if not key.startswith(ANNOTATION) or "." not in key[len(ANNOTATION) :]:
            continue
        check, option = key[len(ANNOTATION) :].split(".", 1)
        target = next((c for c in checks if (c.get("name") or c.get("kind")) == check), None)
        if target is None and raw.get("profile") == "production":
            default = next(
                (c for c in PRODUCTION_PROFILE if (c.get("name") or c["kind"]) == check), None
            )
            if default is not None:
                target = dict(default)
                checks.append(target)
        if target is None:
            problems.append(
                f"{what}: annotation {key!r} names no check of this service "
                f"(list its kind in {ANNOTATION}checks or use a profile)"
            )
            continue
        target[option] = _scalar(value) if isinstance(value, str) else value
    return problems


def backstage_entities(
    documents: list[Any], source: DiscoveryModel, where: str
) -> tuple[list[tuple[str, Raw]], list[str]]:
    """``kind: Component`` entities with an ``auditor.io/url`` annotation -> service tables.

    Other kinds (API, System, Group, Location…) and components without the annotation
    (libraries, websites the operator does not audit) are not services here and are skipped.
    """
    out: list[tuple[str, Raw]] = []
    problems: list[str] = []
    for di, doc in enumerate(documents):
        if doc is None:
            continue
        if not isinstance(doc, Mapping):
            problems.append(f"{where}: document {di}: must be a mapping (a Backstage entity)")
            continue
        if str(doc.get("kind", "")).lower() != "component":
            continue
        meta = doc.get("metadata")
        spec = doc.get("spec") or {}
        if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
            problems.append(f"{where}: document {di}: a Component needs metadata.name")
            continue
        what = f"{where}: component {meta['name']!r}"
        notes = meta.get("annotations") or {}
        labels = meta.get("labels") or {}
        if not isinstance(notes, Mapping) or not isinstance(labels, Mapping):
            problems.append(f"{what}: metadata.annotations and labels must be mappings")
            continue
        if not isinstance(spec, Mapping):
            problems.append(f"{what}: spec must be a mapping")
            continue
        mapped = _mapped(source, {str(k): v for k, v in labels.items()})
        mapped.setdefault("name", meta["name"])
        for field in ("url", "environment", "owner", "profile"):
            value = notes.get(ANNOTATION + field)
            if isinstance(value, str) and value.strip():
                mapped[field] = value.strip()
        if "url" not in mapped:
            continue  # not opted in
        if "owner" not in mapped and isinstance(spec.get("owner"), str):
            mapped["owner"] = spec["owner"]
        raw = base_service(source, mapped)
        if isinstance(meta.get("description"), str):
            raw["description"] = meta["description"][:2000]
        found = _apply_annotations(raw, notes, what)
        if found:
            problems.extend(found)
            continue
        out.append((what, raw))
    return out, problems
