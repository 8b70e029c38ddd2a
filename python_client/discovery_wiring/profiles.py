"""Source profiles: detect an export format from its headers, and plan the
field mappings that turn its rows into assets.

The profiles and the synonym dictionary are data (``data/profiles.toml``, its
header comment says the format); this module reads and checks them, and:

- :func:`detect` scores every profile on a file's headers and names the best,
  or none (a tie, or no profile good enough);
- :func:`plan_mappings` gives one mapping per header, in the shape
  ``set_field_mappings`` takes, and the profile's constant fields;
- :func:`merge_overrides` lets a ``--mapping`` file change the columns it names.

What a plan guarantees: every header has exactly one mapping; two headers never
fill one asset column or external ID unless the profile orders them with
distinct priorities (a fallback chain): the best fills it, the others become
custom attributes and their ``why`` says so; two headers never share a custom
attribute name; a memory or storage column carries its unit when the profile or
the header text gives one.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

CATALOG_FILE = Path(__file__).resolve().parent / "data" / "profiles.toml"

# The asset columns a mapping may fill (see DESIGN.md, "assets"); any other
# target that is not external_ids.<namespace> is a custom attribute.
ASSET_COLUMNS = (
    "name", "asset_name", "asset_type", "hostname", "fqdn", "ip_address", "mac_address",
    "operating_system", "os_version", "cpu_cores", "memory_gb", "storage_gb", "environment",
    "location", "datacenter", "application_name", "business_owner", "technical_owner",
    "department", "criticality", "status", "discovery_source",
)
SIZE_COLUMNS = ("memory_gb", "storage_gb")
UNITS = {"bytes": "B", "kb": "KB", "kib": "KiB", "mb": "MB", "mib": "MiB", "gb": "GB", "gib": "GiB",
         "tb": "TB", "tib": "TiB"}
EXTERNAL_ID_PREFIX = "external_ids."

DETECTION_THRESHOLD = 0.6  # below it no profile applies: headers go to the synonyms
REQUIRED_WEIGHT = 2.0  # a required group present counts as this many known headers
UNKNOWN_WEIGHT = 0.25  # a header the profile does not know counts against it this much
PROFILE_CONFIDENCE = 1.0
ASSET_COLUMN_CONFIDENCE = 1.0
UNKNOWN_CONFIDENCE = 0.3
MAX_ATTRIBUTE_NAME = 63

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
# "TotalSizeInMB" -> "Total Size In MB"; not "MiB"
_CAMEL = re.compile(r"(?<=[^\W\d_][^\W\d_A-Z])(?<![KMGT]i)(?=[A-Z])")
_NON_WORD = re.compile(r"[\W_]+")
_NAMESPACE = re.compile(r"[a-z][a-z0-9_]*")
_RATE_WORDS = {"per", "s", "sec"}


def _words(header: str) -> list[str]:
    text = unicodedata.normalize("NFKC", str(header)).translate(_INVISIBLE)
    return _NON_WORD.sub(" ", _CAMEL.sub(" ", text).casefold()).split()


def header_key(header: str) -> str:
    """A header as profiles and synonyms compare it: case, punctuation, spacing
    and a leading ``*`` ignored, camelCase split (``*Memory (In MB)`` ->
    ``memory in mb``, ``RAM.TotalSizeInMB`` -> ``ram total size in mb``)."""
    return " ".join(_words(header))


def snake_name(header: str) -> str:
    """A header as a custom attribute name: ``In Use MiB`` -> ``in_use_mib``."""
    return "_".join(_words(header))


def unit_from_header(header: str) -> str | None:
    """The size unit a header names (``Memory (MB)``, ``*Memory (In MB)``,
    ``ram_gb``, ``RAM.TotalSizeInMB``, ``Provisioned MiB``, ``Storage TB``);
    None when it names none, or names a rate (``MB per second``, ``MB/s``)."""
    words = _words(header)
    for i in range(len(words) - 1, -1, -1):
        if words[i] in UNITS and not set(words[i + 1:i + 2]) & _RATE_WORDS:
            return UNITS[words[i]]
    return None


def _without_units(key: str) -> str:
    """A header key without its unit words: ``memory in mb`` -> ``memory``."""
    words = key.split()
    kept = [w for i, w in enumerate(words)
            if w not in UNITS and not (w == "in" and words[i + 1:i + 2] and words[i + 1] in UNITS)]
    return " ".join(kept)


def target_kind(target: str) -> str:
    """``asset column``, ``external id`` or ``custom attribute``."""
    if target in ASSET_COLUMNS:
        return "asset column"
    if target.startswith(EXTERNAL_ID_PREFIX):
        return "external id"
    return "custom attribute"


def _exclusive(target: str) -> bool:
    """Targets one value fills: an asset column or an external ID."""
    return target_kind(target) != "custom attribute"


# -- the catalog ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One column of a profile and where it goes."""

    header: str
    target: str
    unit: str | None = None
    priority: int | None = None
    value_key: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Profile:
    """An export format: its header signature, its columns, its constant fields."""

    name: str
    title: str
    required: tuple[tuple[str, ...], ...]
    columns: tuple[Column, ...]
    field_defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    default_sheet: str | None = None
    _index: dict[str, Column] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index = {header_key(h): c for c in self.columns for h in (c.header, *c.aliases)}
        object.__setattr__(self, "_index", index)

    def column(self, header: str) -> Column | None:
        """The column a header is (compared by :func:`header_key`), if the profile knows it."""
        return self._index.get(header_key(header))

    @property
    def name_columns(self) -> tuple[str, ...]:
        """Headers that give the asset its name (or its hostname, which names it)."""
        return tuple(c.header for c in self.columns if c.target in ("name", "asset_name", "hostname"))

    @property
    def external_id_columns(self) -> dict[str, str]:
        """Header -> external ID namespace."""
        return {c.header: c.target.removeprefix(EXTERNAL_ID_PREFIX)
                for c in self.columns if c.target.startswith(EXTERNAL_ID_PREFIX)}


@dataclass(frozen=True)
class Synonym:
    target: str
    confidence: float


@dataclass(frozen=True)
class Catalog:
    """The profiles (in file order) and the synonym dictionary (header key -> Synonym)."""

    profiles: Mapping[str, Profile]
    synonyms: Mapping[str, Synonym]

    def profile(self, name: str) -> Profile:
        """The profile of that name; ValueError listing the names otherwise."""
        try:
            return self.profiles[name]
        except KeyError:
            raise ValueError(f"no profile {name!r}; profiles: {', '.join(self.profiles)}") from None


class CatalogError(ValueError):
    """The profile file breaks a rule of its format."""


def load_catalog(path: str | Path = CATALOG_FILE) -> Catalog:
    """Read and check a profile file (see the comment at the top of ``profiles.toml``)."""
    path = Path(path)
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    profiles = {name: _profile(name, spec) for name, spec in doc.get("profiles", {}).items()}
    synonyms: dict[str, Synonym] = {}
    for entry in doc.get("synonyms", []):
        synonym = Synonym(_target(entry["target"], "synonyms"), float(entry["confidence"]))
        for header in entry["headers"]:
            key = header_key(header)
            if key in synonyms:
                raise CatalogError(f"{path}: synonym {header!r} is listed twice")
            synonyms[key] = synonym
    return Catalog(MappingProxyType(profiles), MappingProxyType(synonyms))


@cache
def catalog() -> Catalog:
    """The catalog shipped with the package."""
    return load_catalog()


def _profile(name: str, spec: dict[str, Any]) -> Profile:
    where = f"profile {name}"
    columns = [_column(header, entry, where) for header, entry in spec.get("columns", {}).items()]
    columns += [_known(header, where) for header in spec.get("known", [])]
    required = tuple(tuple(group) for group in spec.get("required", []))
    defaults = spec.get("field_defaults", {})
    profile = Profile(name, spec["title"], required, tuple(columns), MappingProxyType(dict(defaults)),
                      spec.get("default_sheet"))
    _check_profile(profile, where)
    return profile


def _column(header: str, entry: dict[str, Any], where: str) -> Column:
    unknown = set(entry) - {"target", "unit", "priority", "value_key", "aliases"}
    if unknown:
        raise CatalogError(f"{where}, column {header!r}: unknown keys {sorted(unknown)}")
    unit = entry.get("unit")
    if unit is not None and unit not in UNITS.values():
        raise CatalogError(f"{where}, column {header!r}: unit {unit!r} is not one of {sorted(UNITS.values())}")
    priority = entry.get("priority")
    if priority is not None and not (isinstance(priority, int) and 1 <= priority <= 32767):
        raise CatalogError(f"{where}, column {header!r}: priority {priority!r} is not a positive integer")
    return Column(header, _target(entry["target"], where), unit, priority, entry.get("value_key"),
                  tuple(entry.get("aliases", ())))


def _known(header: str, where: str) -> Column:
    column = Column(header, snake_name(header))
    if target_kind(column.target) != "custom attribute":
        raise CatalogError(f"{where}: known header {header!r} is the asset column {column.target}: list it in columns")
    return column


def _target(target: str, where: str) -> str:
    namespace = target.removeprefix(EXTERNAL_ID_PREFIX)
    if not _NAMESPACE.fullmatch(namespace):
        raise CatalogError(f"{where}: target {target!r} is not snake_case")
    return target


def _check_profile(profile: Profile, where: str) -> None:
    seen: dict[str, str] = {}
    for column in profile.columns:
        for header in (column.header, *column.aliases):
            key = header_key(header)
            if key in seen:
                raise CatalogError(f"{where}: {header!r} and {seen[key]!r} are the same header")
            seen[key] = header
    for group in profile.required:
        for header in group:
            if header_key(header) not in seen:
                raise CatalogError(f"{where}: required header {header!r} is not a column or a known header")
    for target in {c.target for c in profile.columns if _exclusive(c.target)}:
        sharing = [c for c in profile.columns if c.target == target]
        priorities = [c.priority for c in sharing]
        if len(sharing) > 1 and (None in priorities or len(set(priorities)) < len(priorities)):
            raise CatalogError(f"{where}: columns sharing {target} need distinct priorities")
    for column_name in profile.field_defaults:
        if column_name not in ASSET_COLUMNS:
            raise CatalogError(f"{where}: field default {column_name!r} is not an asset column")


# -- detection -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Score:
    """How well one profile explains a file's headers.

    ``score`` is 0 when a required group is missing (``missing`` lists them,
    each as ``A | B``); else (2·groups + known) / (2·groups + known + ¼·unknown).
    """

    profile: str
    score: float
    known: int
    unknown: int
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Detection:
    """The profile that applies to a file (None on a tie or below the threshold),
    with every profile's score, best first."""

    profile: Profile | None
    scores: tuple[Score, ...]
    tied: tuple[str, ...] = ()
    threshold: float = DETECTION_THRESHOLD

    @property
    def message(self) -> str:
        """One line for people."""
        best = self.scores[0] if self.scores else None
        if self.profile is not None:
            return (f"profile {self.profile.name} (score {best.score:.2f}: "
                    f"{best.known} headers known, {best.unknown} not)")
        if self.tied:
            return (f"tie between profiles {', '.join(self.tied)} (score {best.score:.2f}): "
                    "choose one with --profile")
        detail = f" (best: {best.profile} {best.score:.2f})" if best and best.score else ""
        return f"no profile reaches {self.threshold:.2f}{detail}: headers mapped by the synonym dictionary"


def detect(headers: Iterable[str], catalog_: Catalog | None = None) -> Detection:
    """Score every profile on the headers; the best applies when it reaches the
    threshold and no other profile has the same score."""
    known = catalog_ or catalog()
    keys = [header_key(h) for h in headers]
    scores = sorted((_score(p, keys) for p in known.profiles.values()), key=lambda s: -s.score)
    if not scores or scores[0].score < DETECTION_THRESHOLD:
        return Detection(None, tuple(scores))
    top = [s.profile for s in scores if round(s.score, 6) == round(scores[0].score, 6)]
    if len(top) > 1:
        return Detection(None, tuple(scores), tuple(top))
    return Detection(known.profile(top[0]), tuple(scores))


def _score(profile: Profile, keys: list[str]) -> Score:
    index = profile._index
    present = set(keys)
    missing = tuple(" | ".join(group) for group in profile.required
                    if not any(header_key(h) in present for h in group))
    known = sum(1 for k in keys if k in index)
    unknown = len(keys) - known
    if missing or not keys:
        return Score(profile.name, 0.0, known, unknown, missing)
    weight = REQUIRED_WEIGHT * len(profile.required) + known
    return Score(profile.name, weight / (weight + UNKNOWN_WEIGHT * unknown), known, unknown)


# -- mapping plans -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldMapping:
    """Where one source column goes. ``to_api()`` is the element
    ``set_field_mappings`` takes; ``why`` is for people and is not sent."""

    source_field: str
    target_field: str
    confidence_score: float
    unit: str | None = None
    priority: int | None = None
    value_key: str | None = None
    status: str = "approved"
    why: str = ""

    @property
    def kind(self) -> str:
        return target_kind(self.target_field)

    def to_api(self) -> dict[str, Any]:
        element: dict[str, Any] = {"source_field": self.source_field, "target_field": self.target_field,
                                   "status": self.status, "confidence_score": self.confidence_score}
        for key in ("unit", "priority", "value_key"):
            if getattr(self, key) is not None:
                element[key] = getattr(self, key)
        return element


@dataclass(frozen=True)
class MappingPlan:
    """One mapping per header, the profile's constant fields (the
    ``p_field_defaults`` of ``set_field_mappings``; the plan's own copy), and
    the profile's name (``p_profile``)."""

    mappings: tuple[FieldMapping, ...]
    field_defaults: dict[str, Any]
    profile: str | None

    def api_mappings(self) -> list[dict[str, Any]]:
        """The ``p_mappings`` of ``set_field_mappings``."""
        return [m.to_api() for m in self.mappings]


def plan_mappings(headers: Iterable[str], profile: Profile | None = None,
                  synonyms: Mapping[str, Synonym] | None = None) -> MappingPlan:
    """Map every header: the profile's column, else an asset column of that
    name, else the synonym dictionary, else a custom attribute (confidence
    0.3) named after the header (``column_<n>`` when blank or too long)."""
    synonyms = catalog().synonyms if synonyms is None else synonyms
    proposed = [_propose(position, header, profile, synonyms) for position, header in enumerate(headers, 1)]
    settled = _unique_attributes(_one_source_per_target(proposed))
    defaults = dict(profile.field_defaults) if profile else {}
    return MappingPlan(tuple(settled), defaults, profile.name if profile else None)


def _propose(position: int, header: str, profile: Profile | None, synonyms: Mapping[str, Synonym]) -> FieldMapping:
    key = header_key(header)
    column = profile.column(header) if profile else None
    if column is not None:
        unit = column.unit or (unit_from_header(header) if column.target in SIZE_COLUMNS else None)
        return FieldMapping(header, column.target, PROFILE_CONFIDENCE, unit, column.priority, column.value_key,
                            why=f"profile {profile.name}")
    asset_column = _ASSET_KEYS.get(key)
    if asset_column is not None:
        return FieldMapping(header, asset_column, ASSET_COLUMN_CONFIDENCE, _size_unit(asset_column, header),
                            why="asset column name")
    synonym = synonyms.get(key) or synonyms.get(_without_units(key))
    if synonym is not None:
        return FieldMapping(header, synonym.target, synonym.confidence, _size_unit(synonym.target, header),
                            why="synonym")
    return FieldMapping(header, attribute_name(header, position), UNKNOWN_CONFIDENCE,
                        why="unknown header: custom attribute")


_ASSET_KEYS = {header_key(c): c for c in ASSET_COLUMNS}


def _size_unit(target: str, header: str) -> str | None:
    return unit_from_header(header) if target in SIZE_COLUMNS else None


def attribute_name(header: str, position: int) -> str:
    """The custom attribute a header becomes: its snake_case name (``_2`` added
    when that is an asset column's), or ``column_<position>`` when it is empty
    or longer than 63 characters."""
    name = snake_name(header)
    if not 0 < len(name) <= MAX_ATTRIBUTE_NAME:
        return f"column_{position}"
    return f"{name}_2" if name in ASSET_COLUMNS else name


def _one_source_per_target(mappings: list[FieldMapping]) -> list[FieldMapping]:
    """Of several mappings to one asset column or external ID, keep the best
    (confidence, then priority, then header order) or, when it has a priority,
    the best of each distinct priority; the others become custom attributes."""
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(mappings):
        if _exclusive(m.target_field):
            groups.setdefault(m.target_field, []).append(i)
    out = list(mappings)
    for target, members in groups.items():
        kept = _kept(mappings, members)
        for i in members:
            if i not in kept:
                first = mappings[kept[0]].source_field
                out[i] = _demoted(mappings[i], i + 1, f"second source for {target} (after {first!r}): "
                                                     "kept as custom attribute")
            elif len(kept) == 1:
                out[i] = replace(mappings[i], priority=None)  # alone: the default priority
    return out


def _kept(mappings: list[FieldMapping], members: list[int]) -> list[int]:
    ranked = sorted(members, key=lambda i: (-mappings[i].confidence_score, mappings[i].priority or 0, i))
    if mappings[ranked[0]].priority is None:
        return ranked[:1]
    kept: dict[int, int] = {}
    for i in ranked:
        priority = mappings[i].priority
        if priority is not None and priority not in kept:
            kept[priority] = i
    return sorted(kept.values(), key=lambda i: mappings[i].priority)


def _demoted(mapping: FieldMapping, position: int, why: str) -> FieldMapping:
    return replace(mapping, target_field=attribute_name(mapping.source_field, position), priority=None, why=why)


def _unique_attributes(mappings: list[FieldMapping]) -> list[FieldMapping]:
    """Give every custom attribute its own name: a mapping whose name is its
    header's own snake_case name yields (``_2``, ``_3``) to one named otherwise
    (by a profile or the user), then later headers yield to earlier ones."""
    taken = {m.target_field for m in mappings if _exclusive(m.target_field)}
    order = sorted(range(len(mappings)),
                   key=lambda i: (mappings[i].target_field == snake_name(mappings[i].source_field), i))
    out = list(mappings)
    for i in order:
        m = mappings[i]
        if _exclusive(m.target_field):
            continue
        name, n = m.target_field, 2
        while name in taken or name in ASSET_COLUMNS:
            name, n = f"{m.target_field}_{n}", n + 1
        taken.add(name)
        out[i] = replace(m, target_field=name)
    return out


def merge_overrides(plan: MappingPlan, overrides: Iterable[Mapping[str, Any]] | Mapping[str, str]) -> MappingPlan:
    """The plan with the mappings a ``--mapping`` file gives, for the columns it
    names only (``[{source_field, target_field, ...}]`` or ``{source: target}``).

    An override keeps the planned unit and value_key when it keeps the target
    and gives none; it claims its asset column or external ID, so a planned
    mapping to the same target becomes a custom attribute unless both carry
    distinct priorities. Overrides for columns not among the headers are added.
    """
    items = ([{"source_field": s, "target_field": t} for s, t in overrides.items()]
             if isinstance(overrides, Mapping) else [dict(o) for o in overrides])
    planned = {m.source_field: m for m in plan.mappings}
    chosen = {item["source_field"]: _override(item, planned.get(item["source_field"])) for item in items}
    out: list[FieldMapping] = []
    for position, m in enumerate(plan.mappings, 1):
        if m.source_field in chosen:
            out.append(chosen.pop(m.source_field))
        elif _displaced(m, out, chosen.values()):
            out.append(_demoted(m, position, f"{m.target_field} taken by --mapping: kept as custom attribute"))
        else:
            out.append(m)
    out.extend(chosen.values())
    return replace(plan, mappings=tuple(_unique_attributes(out)))


def _override(item: dict[str, Any], planned: FieldMapping | None) -> FieldMapping:
    source, target = item["source_field"], item["target_field"]
    same = planned is not None and planned.target_field == target
    return FieldMapping(
        source, target, float(item.get("confidence_score", 1.0)),
        item.get("unit", planned.unit if same else _size_unit(target, source)),
        item.get("priority"),
        item.get("value_key", planned.value_key if same else None),
        item.get("status", "approved"),
        why="--mapping",
    )


def _displaced(mapping: FieldMapping, before: list[FieldMapping], overrides: Iterable[FieldMapping]) -> bool:
    if not _exclusive(mapping.target_field):
        return False
    claims = [o for o in (*before, *overrides) if o.why == "--mapping" and o.target_field == mapping.target_field]
    return any(o.priority is None or mapping.priority is None or o.priority == mapping.priority for o in claims)
