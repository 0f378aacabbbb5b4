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


def _fast(family: RowsGauge, encoder: Encoder, trailer: str, escaped: dict[str, str]) -> str:
    header = encoder(_One(family.empty())).decode()
    header = header[: len(header) - len(trailer)] if trailer else header
    fmt = _line_format(family, encoder, trailer, header)
    if fmt is None:  # unexpected encoder output: let the encoder write every sample
        text = encoder(_One(family)).decode()
        return text[: len(text) - len(trailer)] if trailer else text
    out = [header]
    if isinstance(family, StateSetGauge) and _state_set(family, fmt, escaped, out):
        return "".join(out)
    form = fmt.format
    values: dict[float, str] = {}
    append = out.append
    for labels, value in family.lines():
        shown = values.get(value)
        if shown is None:
            shown = floatToGoString(value)
            if len(values) < 64:
                values[value] = shown
        append(form(*[escaped.get(v) or _escape_into(escaped, v) for v in labels], shown))
    return "".join(out)


def _escape_into(cache: dict[str, str], value: str) -> str:
    cache[value] = text = _escape(value)
    return text


def _state_set(family: StateSetGauge, fmt: str, escaped: dict[str, str], out: list[str]) -> bool:
    """The state-set lines, formatting each object's labels once (not once per state);
    ``False`` (nothing written) unless the state label is the last one on the line."""
    n = len(family._labelnames) - 1  # the state label's placeholder; n + 1 is the value's
    marker = _slot(n)
    cut = fmt.rfind(marker)
    if cut < 0:
        return False
    head, tail = fmt[:cut], fmt[cut + len(marker) :]
    if tail.replace("{{", "").replace("}}", "").count("{") != 1 or _slot(n + 1) not in tail:
        return False
    blanks = [""] * (n + 1)
    on, off = floatToGoString(1.0), floatToGoString(0.0)

    def tails(current: str) -> list[str]:
        # "" first: the object's prefix joins them, so it starts every line
        return [""] + [
            _escape(s) + tail.format(*blanks, on if s == current else off) for s in family.states
        ]

    by_current = {current: tails(current) for current in family.states}
    form = head.format
    append = out.append
    for labels, current in zip(family.label_rows, family.current, strict=True):
        parts = by_current.get(current)
        if parts is None:
            parts = by_current[current] = tails(current)
        append(form(*[escaped.get(v) or _escape_into(escaped, v) for v in labels]).join(parts))
    return True


def render(registry: Any, encoder: Encoder) -> bytes:
    """``encoder(registry)``, with :class:`RowsGauge` families written by the fast path."""
    trailer = encoder(_One()).decode()  # "# EOF\n" for OpenMetrics, "" for text 0.0.4
    parts: list[str] = []
    escaped: dict[str, str] = {}  # label value -> escaped, shared by every family
    for metric in registry.collect():
        if isinstance(metric, RowsGauge):
            parts.append(_fast(metric, encoder, trailer, escaped))
        else:
            text = encoder(_One(metric)).decode()
            parts.append(text[: len(text) - len(trailer)] if trailer else text)
    parts.append(trailer)
    return "".join(parts).encode("utf-8")
