"""A faster text exposition for the big per-check families, byte for byte what
``prometheus_client`` writes.

With 8,000 checks a scrape holds ~70 k samples; ``prometheus_client`` builds a ``Sample``
with a label dict for each and formats it label by label, which cost more than reading the
store and evaluating readiness together. :class:`RowsGauge` keeps its samples as label
tuples instead (``samples`` still materialises them, so every ``prometheus_client`` encoder
keeps working), and :func:`render` writes such families with one format string per family.

The format string is not hand-written: it is cut out of what the negotiated encoder itself
prints for one sample with sentinel label values, so the output follows the encoder (text
0.0.4 or OpenMetrics, label order, escaping scheme). A family whose template cannot be cut
out that way is written by the encoder, sample by sample, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from string import Formatter
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

Encoder = Callable[[Any], bytes]

_SENTINEL_VALUE = 1234.5
_SENTINEL_TEXT = floatToGoString(_SENTINEL_VALUE)


class RowsGauge(GaugeMetricFamily):
    """A gauge family whose samples are stored as ``(label values, value)`` rows."""

    def __init__(self, name: str, documentation: str, labels: Sequence[str]) -> None:
        # two parallel lists rather than a tuple per sample: fewer objects for the GC
        self.label_rows: list[tuple[str, ...]] = []
        self.values: list[float] = []
        super().__init__(name, documentation, labels=labels)

    @property  # type: ignore[override]
    def samples(self) -> list[Sample]:
        """The rows as ``Sample`` objects, for the stock encoders and for tests."""
        names, name = self._labelnames, self.name
        return [
            Sample(name, dict(zip(names, values, strict=True)), v) for values, v in self.lines()
        ]

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        if value:  # Metric.__init__ assigns [] — anything else would be lost silently
            raise TypeError("RowsGauge holds rows; use add_metric")

    def add_metric(self, labels: Sequence[str], value: float, timestamp: Any = None) -> None:
        if timestamp is not None:
            raise ValueError("RowsGauge samples carry no timestamp")
        self.label_rows.append(tuple(labels))
        self.values.append(value)

    def lines(self) -> Iterator[tuple[tuple[str, ...], float]]:
        return zip(self.label_rows, self.values, strict=True)

    def empty(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(self.name, self.documentation, labels=self._labelnames)


class StateSetGauge(RowsGauge):
    """``…{labels…, <state label>=s} 1|0`` for every state ``s``: one row per object."""

    def __init__(
        self, name: str, documentation: str, labels: Sequence[str], states: Sequence[str]
    ) -> None:
        self.states = tuple(states)
        self.current: list[str] = []  # per object (label_rows: without the state label)
        super().__init__(name, documentation, labels)

    def add_state(self, labels: Sequence[str], current: str) -> None:
        """One object (label values without the state label) and its current state."""
        self.label_rows.append(tuple(labels))
        self.current.append(current)

    def add_metric(self, labels: Sequence[str], value: float, timestamp: Any = None) -> None:
        raise TypeError("StateSetGauge takes add_state")

    def lines(self) -> Iterator[tuple[tuple[str, ...], float]]:
        states = self.states
        for values, current in zip(self.label_rows, self.current, strict=True):
            for s in states:
                yield (*values, s), 1.0 if s == current else 0.0


class _One:
    """A collector of one metric, to have an encoder write that metric alone."""

    def __init__(self, *metrics: Metric) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def _escape(value: str) -> str:
    """Label values, as both encoders escape them (backslash, newline, double quote)."""
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def _slot(i: int) -> str:
    """``{i}``: a positional ``str.format`` field."""
    return "{" + str(i) + "}"


def _line_format(family: RowsGauge, encoder: Encoder, trailer: str, header: str) -> str | None:
    """``str.format`` template for one sample line (``{0}``… label values, ``{n}`` value),
    cut out of the encoder's own output for a sentinel sample; ``None`` if that fails."""
    names = family._labelnames
    sentinels = [f"\x01{i}\x02" for i in range(len(names))]
    probe = family.empty()
    probe.add_metric(sentinels, _SENTINEL_VALUE)
    text = encoder(_One(probe)).decode()
    if not (text.startswith(header) and text.endswith(trailer)):
        return None
    line = text[len(header) : len(text) - len(trailer)]
    if line.count("\n") != 1 or not line.endswith(f" {_SENTINEL_TEXT}\n"):
        return None
    line = line[: -len(_SENTINEL_TEXT) - 1]
    fmt = line.replace("{", "{{").replace("}", "}}")
    for i, s in enumerate(sentinels):
        if fmt.count(s) != 1:
            return None
        fmt = fmt.replace(s, _slot(i))
    fmt += _slot(len(names)) + "\n"
    # the template must give back exactly the encoder's line
    if fmt.format(*sentinels, _SENTINEL_TEXT) != line + _SENTINEL_TEXT + "\n":
        return None
    return fmt


def _literal(text: str) -> str:
    """A piece of a format string without fields, as printed."""
    return text.replace("{{", "{").replace("}}", "}")


def _fields(text: str) -> list[str]:
    """The ``{i}`` fields of a format string, in order."""
    return [f for _, f, _, _ in Formatter().parse(text) if f is not None]


def _split(fmt: str, labels: int) -> tuple[str, str, str] | None:
    """``fmt`` as (head, label section, rest): the section holds the fields ``{0}`` …
    ``{labels-1}`` and nothing else, the head no field; ``None`` if it is not laid out so."""
    spans = []
    for i in range(labels):
        at = fmt.find(_slot(i))
        if at < 0:
            return None
        spans.append((at, at + len(_slot(i))))
    lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
    head, section, rest = fmt[:lo], fmt[lo:hi], fmt[hi:]
    if _fields(head) or sorted(_fields(section)) != sorted(str(i) for i in range(labels)):
        return None
    return _literal(head), section, rest


class _Sections:
    """Formatted label sections, shared by every family with the same label layout: the
    ``service``/``check``/``kind`` labels of a check are escaped and joined once a scrape.
    One table per section layout, keyed by the label tuple itself (the check's families
    share that tuple object), so a sample costs one dict lookup."""

    def __init__(self) -> None:
        self.escaped: dict[str, str] = {}
        self.tables: dict[str, dict[tuple[str, ...], str]] = {}

    def table(self, section: str) -> dict[tuple[str, ...], str]:
        return self.tables.setdefault(section, {})

    def make(self, section: str, table: dict[tuple[str, ...], str], labels: tuple[str, ...]) -> str:
        escaped = self.escaped
        values = [escaped.get(v) or _escape_into(escaped, v) for v in labels]
        text = table[labels] = section.format(*values)
        return text


def _fast(family: RowsGauge, encoder: Encoder, trailer: str, sections: _Sections) -> str:
    header = encoder(_One(family.empty())).decode()
    header = header[: len(header) - len(trailer)] if trailer else header
    fmt = _line_format(family, encoder, trailer, header)
    out = [header]
    state_set = fmt is not None and isinstance(family, StateSetGauge)
    if state_set and _state_set(family, fmt, sections, out):  # type: ignore[arg-type]
        return "".join(out)
    parts = None if fmt is None else _split(fmt, len(family._labelnames))
    value_field = _slot(len(family._labelnames))
    if parts is None or _fields(parts[2]) != [value_field[1:-1]]:
        # unexpected encoder output: let the encoder write every sample
        text = encoder(_One(family)).decode()
        return text[: len(text) - len(trailer)] if trailer else text
    head, section, rest = parts
    before, after = (_literal(x) for x in rest.split(value_field))
    shown: dict[float, str] = {}
    append = out.append
    table = sections.table(section)
    for labels, value in family.lines():
        number = shown.get(value)
        if number is None:
            number = floatToGoString(value)
            if len(shown) < 64:
                shown[value] = number
        labelled = table.get(labels)
        if labelled is None:
            labelled = sections.make(section, table, labels)
        append(f"{head}{labelled}{before}{number}{after}")
    return "".join(out)


def _escape_into(cache: dict[str, str], value: str) -> str:
    cache[value] = text = _escape(value)
    return text


def _state_set(family: StateSetGauge, fmt: str, sections: _Sections, out: list[str]) -> bool:
    """The state-set lines, each object's label section once for all its states;
    ``False`` (nothing written) unless the state label comes after the others."""
    m = len(family._labelnames) - 1  # the object's labels; {m} is the state, {m+1} the value
    parts = _split(fmt, m)
    if parts is None:
        return False
    head, section, rest = parts
    if _fields(rest) != [str(m), str(m + 1)]:
        return False
    mid, tail = rest.split(_slot(m))
    between, after = tail.split(_slot(m + 1))
    mid, between, after = _literal(mid), _literal(between), _literal(after)
    on, off = floatToGoString(1.0), floatToGoString(0.0)

    def tails(current: str) -> list[str]:
        # "" first: joined by the object's prefix, which so starts every line
        return [""] + [
            mid + _escape(s) + between + (on if s == current else off) + after
            for s in family.states
        ]

    by_current = {current: tails(current) for current in family.states}
    append = out.append
    table = sections.table(section)
    for labels, current in zip(family.label_rows, family.current, strict=True):
        parts_for = by_current.get(current)
        if parts_for is None:
            parts_for = by_current[current] = tails(current)
        text = table.get(labels)
        if text is None:
            text = sections.make(section, table, labels)
        append((head + text).join(parts_for))
    return True


def render(registry: Any, encoder: Encoder) -> bytes:
    """``encoder(registry)``, with :class:`RowsGauge` families written by the fast path."""
    trailer = encoder(_One()).decode()  # "# EOF\n" for OpenMetrics, "" for text 0.0.4
    parts: list[str] = []
    sections = _Sections()
    for metric in registry.collect():
        if isinstance(metric, RowsGauge):
            parts.append(_fast(metric, encoder, trailer, sections))
        else:
            text = encoder(_One(metric)).decode()
            parts.append(text[: len(text) - len(trailer)] if trailer else text)
    parts.append(trailer)
    return "".join(parts).encode("utf-8")
