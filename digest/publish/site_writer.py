"""The only writer of site files: puts `build_site` output into a folder, atomically.

A manifest (`.digest-site.json`) lists the files this writer put there; on the next
write, files from the old manifest that the new build no longer has are removed, and
nothing else in the folder is ever touched. Each file is written to a temporary file
beside it and renamed into place, so a reader (or a crash) never sees half a file;
files whose bytes did not change are left alone, so their modification times stay.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MANIFEST = ".digest-site.json"


@dataclass(slots=True)
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


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


def write_atomically(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _previous_files(out_dir: Path) -> list[str]:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    files = data.get("files", []) if isinstance(data, dict) else []
    return [f for f in files if isinstance(f, str)]


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


def write_site(files: Mapping[str, bytes], out_dir: Path) -> WriteReport:
    """Write every file under out_dir; remove files this writer wrote before and lost."""
    checked = {name: _check_relative(name) for name in files}
    out_dir.mkdir(parents=True, exist_ok=True)
    report = WriteReport()
    for name in sorted(files):
        target = out_dir.joinpath(*checked[name].parts)
        content = files[name]
        if target.is_file() and target.read_bytes() == content:
            report.unchanged.append(name)
            continue
        write_atomically(target, content)
        report.written.append(name)
    _remove_stale(out_dir, [f for f in _previous_files(out_dir) if f not in files], report)
    manifest = json.dumps({"files": sorted(files)}, indent=1) + "\n"
    write_atomically(out_dir / MANIFEST, manifest.encode("utf-8"))
    return report
