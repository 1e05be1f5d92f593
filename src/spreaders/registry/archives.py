"""Read n8n workflow JSON out of .zip and .tar(.gz) archives in memory, never extracting to disk.

Archives come from users, so sizes are capped (a "zip bomb" is refused, not unpacked) and member
paths are only used as labels.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_MEMBER_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 500 * 1024 * 1024
MAX_MEMBERS = 20_000
_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


class ArchiveError(Exception):
    """The archive as a whole cannot be read."""


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes = b""
    problem: str | None = None


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(_SUFFIXES)


def _wanted(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.lower().endswith(".json") and not base.startswith(("._", ".")) and "__MACOSX/" not in name


def read_archive(path: Path) -> Iterator[Member]:
    """Yield the `*.json` members of an archive (sorted by name), each with its bytes or a problem."""
    if path.name.lower().endswith(".zip"):
        yield from _read_zip(path)
    else:
        yield from _read_tar(path)


def _budget(sizes: list[int]) -> None:
    if len(sizes) > MAX_MEMBERS:
        raise ArchiveError(f"has {len(sizes)} JSON files, more than the {MAX_MEMBERS} one import takes")
    if sum(sizes) > MAX_TOTAL_BYTES:
        raise ArchiveError(f"unpacks to more than {MAX_TOTAL_BYTES // 2**20} MB of JSON")


def _read_zip(path: Path) -> Iterator[Member]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"not a readable zip archive: {exc}") from exc
    with archive:
        infos = sorted(
            (i for i in archive.infolist() if not i.is_dir() and _wanted(i.filename)),
            key=lambda i: i.filename,
        )
        _budget([i.file_size for i in infos])
        for info in infos:
            if info.file_size > MAX_MEMBER_BYTES:
                yield Member(info.filename, problem=f"larger than {MAX_MEMBER_BYTES // 2**20} MB")
                continue
            try:
                yield Member(info.filename, archive.read(info))
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:  # RuntimeError: encrypted member
                yield Member(info.filename, problem=f"cannot be read from the archive: {exc}")


def _read_tar(path: Path) -> Iterator[Member]:
    try:
        archive = tarfile.open(path, mode="r:*")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError) as exc:
        raise ArchiveError(f"not a readable tar archive: {exc}") from exc
    with archive:
        infos = sorted(
            (m for m in archive.getmembers() if m.isfile() and _wanted(m.name)), key=lambda m: m.name
        )
        _budget([m.size for m in infos])
        for info in infos:
            if info.size > MAX_MEMBER_BYTES:
                yield Member(info.name, problem=f"larger than {MAX_MEMBER_BYTES // 2**20} MB")
                continue
            handle = archive.extractfile(info)
            if handle is None:
                yield Member(info.name, problem="cannot be read from the archive")
                continue
            with handle:
                yield Member(info.name, handle.read())
