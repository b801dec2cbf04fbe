"""A site page before it is rendered: its files, what its bytes are a function of, and
how to render it (`PageSpec`), so a writer can skip a page whose inputs did not change.

A page's bytes are a pure function of: the renderer's code and templates (`code_version`,
one hash for the whole build, with the site settings), the values handed to its template
(`inputs`, hashed by `fingerprint`) and, for links drawn only to pages that exist, which of
the slugs it asked about have a page (`Lookups`, recorded while rendering). A page whose
code, inputs and recorded answers are all as before renders to the same bytes as before.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, fields, is_dataclass
from importlib import resources
from importlib.abc import Traversable
from typing import Protocol

import digest
from digest.views import StudyView

# the parts of the package a page's bytes can depend on, beside its inputs
_CODE_FOLDERS = (("templates",), ("static",), ("render",), ("views",))


@dataclass(frozen=True, slots=True)
class Rendered:
    files: dict[str, bytes]  # relative path -> bytes
    lookups: dict[str, bool]  # slug -> whether it had a page, for each slug the page asked


@dataclass(frozen=True, slots=True)
class PageSpec:
    """One page (and the files that go with it, e.g. a study's citation files)."""

    key: str  # the page's main path, e.g. "studies/pmid-1/index.html"
    inputs: str  # fingerprint of what the page shows
    known: Container[str]  # the slugs with a page, that recorded lookups are checked against
    make: Callable[[Container[str]], dict[str, bytes]]

    def render(self) -> Rendered:
        lookups = Lookups(self.known)
        return Rendered(self.make(lookups), lookups.asked)


def fixed_page(path: str, content: bytes) -> PageSpec:
    """A file whose bytes are known already (a static file, an issue as sent)."""
    return PageSpec(path, _hex(content), frozenset(), functools.partial(_just, {path: content}))


def _just(files: dict[str, bytes], _known: Container[str]) -> dict[str, bytes]:
    return files


class Lookups:
    """A set of slugs that remembers each slug it was asked about, and the answer."""

    def __init__(self, known: Container[str]) -> None:
        self.known = known
        self.asked: dict[str, bool] = {}

    def __contains__(self, slug: object) -> bool:
        answer = slug in self.known
        if isinstance(slug, str):
            self.asked[slug] = answer
        return answer


class Fragments(Protocol):
    """Rendered pieces kept between builds (a study's entry in a long list), by the hash
    of their inputs, with the lookups they made. The writer keeps them (publish layer)."""

    def get(self, key: str) -> tuple[str, dict[str, bool]] | None: ...

    def put(self, key: str, html: str, asked: dict[str, bool]) -> None: ...


class NoFragments:
    """Keeps nothing: every piece is rendered (a build into memory, or a test)."""

    def get(self, key: str) -> tuple[str, dict[str, bool]] | None:
        return None

    def put(self, key: str, html: str, asked: dict[str, bool]) -> None:
        return None


def lookups_hold(asked: Mapping[str, bool], known: Container[str]) -> bool:
    """True when every recorded answer is still the answer."""
    return all((slug in known) == answer for slug, answer in asked.items())


def _hex(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Fingerprints:
    """Hashes of page inputs (by value: `repr`, which frozen views give field by field).

    A view object met again (a study on its page, the study index and a condition page; a
    digest on home, the archive and its own page) is hashed once per build: views are
    frozen, and a view holding other views hashes theirs, so each study is read once.
    Splitting a value into the views it holds only saves work: `repr` of the whole value
    would hash the same facts."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[object, str]] = {}

    def of(self, value: object) -> str:
        names = _view_fields(type(value))
        if names is None:
            return _hex(self._part(value).encode("utf-8", "surrogatepass"))
        seen = self._seen.get(id(value))
        if seen is not None and seen[0] is value:
            return seen[1]
        if not names:  # a study: the most numerous view, hashed in one repr
            text = repr(value)
        else:
            inner = ",".join(f"{n}={self._part(getattr(value, n))}" for n in names)
            text = f"{type(value).__name__}({inner})"
        hashed = _hex(text.encode("utf-8", "surrogatepass"))
        self._seen[id(value)] = (value, hashed)  # kept alive, so the id stays its own
        return hashed

    def _part(self, value: object) -> str:
        kind = type(value)
        if _view_fields(kind) is not None:
            return "#" + self.of(value)
        # views' tuples hold one kind of thing: look at the first to know
        if isinstance(value, tuple | list) and value and _holds_views(value[0]):
            return "[" + ",".join(self._part(v) for v in value) + "]"
        return repr(value)

    def of_all(self, *values: object) -> str:
        """One hash for several inputs."""
        return _hex("|".join(self._part(v) for v in values).encode("utf-8", "surrogatepass"))


def _holds_views(value: object) -> bool:
    kind = type(value)
    if _view_fields(kind) is not None:
        return True
    return isinstance(value, tuple | list) and bool(value) and _holds_views(value[0])


_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _view_fields(kind: type) -> tuple[str, ...] | None:
    """None for a type that is not a view (a dataclass); () for a study, hashed whole;
    else its field names, hashed one by one."""
    if kind not in _FIELDS:
        if not is_dataclass(kind):
            _FIELDS[kind] = None
        elif issubclass(kind, StudyView):
            _FIELDS[kind] = ()
        else:
            _FIELDS[kind] = tuple(f.name for f in fields(kind))
    return _FIELDS[kind]


@functools.cache
def code_version() -> str:
    """A hash of the templates, static files and rendering code: change any, and every
    page is rendered again."""
    digest_ = hashlib.blake2b(digest_size=16)
    digest_.update(getattr(digest, "__version__", "").encode())
    root = resources.files("digest")
    for parts in _CODE_FOLDERS:
        for path, item in sorted(_walk(root.joinpath(*parts), "/".join(parts))):
            if path.endswith(".pyc"):
                continue
            digest_.update(path.encode() + b"\0" + item.read_bytes() + b"\0")
    return digest_.hexdigest()


def _walk(folder: Traversable, prefix: str) -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for item in folder.iterdir():
        name = f"{prefix}/{item.name}"
        if item.is_dir():
            if item.name != "__pycache__":
                found += _walk(item, name)
        else:
            found.append((name, item))
    return found
