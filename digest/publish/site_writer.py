"""The only writer of site files: puts the site's pages into a folder, atomically and
incrementally.

A manifest (`.digest-site.json`, beside the pages it describes, so a copied or deleted
folder carries its own truth) lists, per page, the files it wrote, the fingerprint of the
page's inputs and the slugs whose page it asked about. On the next write a page whose
fingerprint and answers are unchanged, and whose files are all there, is not rendered at
all; the others are rendered, and each of their files is written only if its bytes
changed, so untouched files keep their bytes, inode and modification time. Files from the
old manifest that no page has now are removed, and nothing else in the folder is ever
touched. A missing or unreadable manifest, a change of templates or code (part of every
fingerprint) or `full=True` renders every page. Each file is written to a temporary file
beside it and renamed into place, so a reader never sees half a file; the files are
flushed to disk together before the new manifest is, so after a crash the manifest never
vouches for a page that is not on disk. A marker (`.digest-site.building`) stands while a
write has begun changing files and is removed once the new manifest is in place: a write
that finds it renders every page, since files of the interrupted write may hold inputs
the old manifest does not describe (and the data may since have gone back to them).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from digest.render.site_pages import PageSpec, fixed_page, lookups_hold

MANIFEST = ".digest-site.json"
BUILDING = ".digest-site.building"  # a write that changed files has not finished
MANIFEST_VERSION = 2


@dataclass(slots=True)
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rendered: int = 0  # pages rendered (inputs changed, new, or a full build)
    skipped: int = 0  # pages not rendered: inputs as before, files in place


def _check_relative(path: str) -> PurePosixPath:
    """A relative path that stays inside the output folder."""
    pure = PurePosixPath(path)
    if (
        not path
        or pure.is_absolute()
        or "\\" in path
        or ".." in pure.parts
        or path == MANIFEST
        or any(part.startswith(".") for part in pure.parts)
    ):
        raise ValueError(f"refusing to write outside the site folder: {path!r}")
    return pure


def write_atomically(target: Path, content: bytes, *, durable: bool = True) -> None:
    """Write beside the target, then rename over it. `durable=False` skips the fsync (the
    caller syncs once for many files, see write_site)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(slots=True)
class _Previous:
    files: set[str] = field(default_factory=set)
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)


def _read_manifest(out_dir: Path) -> _Previous:
    """What the last write left; an unreadable manifest reads as nothing (a full build)."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _Previous()
    if not isinstance(data, dict):
        return _Previous()
    previous = _Previous(files={f for f in data.get("files", []) if isinstance(f, str)})
    pages = data.get("pages")
    if data.get("version") == MANIFEST_VERSION and isinstance(pages, dict):
        for key, entry in pages.items():
            if _entry_is_sound(entry):
                previous.pages[key] = entry
                previous.files.update(entry["files"])
    return previous


def _is_inside(name: str) -> bool:
    """`_check_relative` as a cheap test on the string (a 100k-page manifest names 400k
    files): no absolute path, backslash, dot-part (so no `..`) or the manifest."""
    return (
        bool(name)
        and not name.startswith("/")
        and "\\" not in name
        and name != MANIFEST
        and not any(part.startswith(".") for part in name.split("/"))
    )


def _entry_is_sound(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("inputs"), str)
        and isinstance(entry.get("files"), list)
        and all(isinstance(f, str) and _is_inside(f) for f in entry["files"])
        and isinstance(entry.get("asked"), dict)
        and all(isinstance(v, bool) for v in entry["asked"].values())
    )


def _remove_stale(out_dir: Path, stale: list[str], report: WriteReport) -> None:
    for name in sorted(stale):
        try:
            _check_relative(name)
        except ValueError:
            continue  # a tampered manifest must not make us delete outside the folder
        target = out_dir / name
        if target.is_file():
            target.unlink()
            report.removed.append(name)
        for parent in target.parents:
            if parent == out_dir or not parent.is_relative_to(out_dir):
                break
            try:
                parent.rmdir()  # only succeeds when empty
            except OSError:
                break


def write_files(files: Mapping[str, bytes], out_dir: Path) -> list[Path]:
    """Write files (relative path -> bytes) atomically under out_dir, removing nothing
    (for `digest build`'s few files); returns the paths, sorted."""
    checked = {name: _check_relative(name) for name in files}
    written = []
    for name in sorted(files):
        target = out_dir.joinpath(*checked[name].parts)
        write_atomically(target, files[name])
        written.append(target)
    return written


def _still_current(page: PageSpec, entry: dict[str, Any] | None, out_dir: str) -> bool:
    return (
        entry is not None
        and entry["inputs"] == page.inputs
        and lookups_hold(entry["asked"], page.known)
        and all(os.path.isfile(os.path.join(out_dir, name)) for name in entry["files"])
    )


def pages_of_files(files: Mapping[str, bytes]) -> Iterator[PageSpec]:
    """Ready bytes (the issues as sent, a test's files) as pages, one per file."""
    return (fixed_page(name, content) for name, content in files.items())


def write_site(
    pages: Iterable[PageSpec] | Mapping[str, bytes], out_dir: Path, *, full: bool = False
) -> WriteReport:
    """Write the site's pages under out_dir, page by page (rendering only those whose
    inputs changed, or all of them with full=True); remove files this writer wrote before
    and lost."""
    if isinstance(pages, Mapping):
        pages = pages_of_files(pages)
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = _read_manifest(out_dir)
    building = out_dir / BUILDING
    marked = building.exists()
    full = full or marked  # the last write stopped midway: trust no entry
    report = WriteReport()
    entries: dict[str, dict[str, Any]] = {}
    owner: dict[str, str] = {}  # file -> the page that has it, to refuse two claims
    folder = str(out_dir)
    for page in pages:
        if page.key in entries:
            raise ValueError(f"two pages at one path: {page.key!r}")
        entry = None if full else previous.pages.get(page.key)
        if entry is not None and _still_current(page, entry, folder):
            report.skipped += 1
            report.unchanged.extend(entry["files"])
        else:
            rendered = page.render()
            report.rendered += 1
            if not marked:  # on disk before any file changes
                write_atomically(building, b"a site write is under way\n")
                marked = True
            _write_files(rendered.files, out_dir, report)
            entry = {
                "inputs": page.inputs,
                "files": sorted(rendered.files),
                "asked": rendered.lookups,
            }
        for name in entry["files"]:
            if owner.setdefault(name, page.key) != page.key:
                raise ValueError(f"two pages write {name!r}: {owner[name]!r}, {page.key!r}")
        entries[page.key] = entry
    stale = sorted(previous.files - owner.keys())
    if stale and not marked:
        write_atomically(building, b"a site write is under way\n")
    _remove_stale(out_dir, stale, report)
    if report.written:
        # one flush for every page written (an fsync per file was most of an incremental
        # build's time), before the manifest says those pages are in place
        os.sync()
    manifest = {"version": MANIFEST_VERSION, "files": sorted(owner), "pages": entries}
    write_atomically(out_dir / MANIFEST, (json.dumps(manifest, sort_keys=True) + "\n").encode())
    building.unlink(missing_ok=True)
    return report


def _write_files(files: Mapping[str, bytes], out_dir: Path, report: WriteReport) -> None:
    for name in sorted(files):
        target = out_dir.joinpath(*_check_relative(name).parts)
        content = files[name]
        if target.is_file() and target.read_bytes() == content:
            report.unchanged.append(name)
            continue
        write_atomically(target, content, durable=False)
        report.written.append(name)
