"""The source each live module was built from.

Diffing needs the text a module was *built* from, not what its file says now. From the
moment hotswap is imported we keep that knowledge cheaply:

- modules already loaded get a stat fingerprint (mtime, size) of their file; their text is
  read lazily, and trusted only while the file still matches the fingerprint;
- modules imported later pass through a meta-path finder that reads their text at import
  time for user code (outside the standard library and site-packages) and fingerprints the
  rest;
- after every applied update the new text becomes the module's baseline.

When the baseline cannot be known, the engine says so and falls back to re-running the
whole module in staging while still keeping identities.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import threading
from types import ModuleType

TYPE_CHECKING = False  # typing is not imported with hotswap
if TYPE_CHECKING:
    from collections.abc import Callable


class Fingerprint(tuple):
    """Enough of a file's stat to tell that it has not been touched since:
    (mtime_ns, size, inode). A plain tuple: this module is imported with hotswap."""

    __slots__ = ()

    @property
    def mtime_ns(self) -> int:
        return self[0]

    @property
    def size(self) -> int:
        return self[1]

    @classmethod
    def of(cls, path: str) -> Fingerprint | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return cls((st.st_mtime_ns, st.st_size, st.st_ino))


class Baseline:
    """What one module was built from: its file, its fingerprint then, and maybe its text."""

    __slots__ = ("path", "fingerprint", "text")

    def __init__(self, path: str, fingerprint: Fingerprint | None,
                 text: str | None = None) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.text = text


def read_source(path: str) -> str:
    """Decode a source file the way the import system does (PEP 263 cookie, BOM)."""
    with open(path, "rb") as f:
        data = f.read()
    text = _plain_utf8(data)
    if text is not None:
        return text
    try:
        return importlib.util.decode_source(data)
    except UnicodeDecodeError as exc:
        # As the import system does: a SyntaxError naming the line of the bad byte.
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SyntaxError(f"the source is not valid {exc.encoding}: {exc.reason} "
                          f"(byte 0x{data[exc.start]:02x})", (path, line, column, None)) from exc


def _plain_utf8(data: bytes) -> str | None:
    """`data` decoded as the import system would, when that is plain UTF-8: no byte-order
    mark, no coding cookie in the first two lines. That is most files, and decoding them
    directly costs a fraction of ``decode_source`` (which tokenizes the first lines to
    look for a cookie), paid for every module loaded before hotswap. None otherwise."""
    if data.startswith(b"\xef\xbb\xbf"):
        return None
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1) if first != -1 else -1
    if b"coding" in (data if second == -1 else data[:second]):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # decode_source names the line of the bad byte
    if "\r" not in text:
        return text
    # Universal newlines, as decode_source translates them; its decoder is never told the
    # input ended, so a last lone carriage return waits for a newline and is dropped.
    text = text.replace("\r\n", "\n")
    return text[:-1].replace("\r", "\n") if text.endswith("\r") else text.replace("\r", "\n")


def source_path(module: ModuleType) -> str | None:
    """The ``.py`` file a module was loaded from, or None (builtins, extensions, pyc-only)."""
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None) if spec is not None else None
    if origin is None or not getattr(spec, "has_location", False):
        origin = getattr(module, "__file__", None)
    if not isinstance(origin, str) or not origin.endswith(".py"):
        return None
    return origin


def _library_roots() -> tuple[str, ...]:
    """The standard library and every site-packages directory (without importing
    sysconfig, which costs more than everything else hotswap does at import)."""
    import site

    paths = [os.path.dirname(os.__file__)]
    try:
        paths.extend(site.getsitepackages())
        paths.append(site.getusersitepackages())
    except AttributeError:  # a virtualenv's old site.py
        pass
    roots = set()
    for path in paths:
        roots.add(os.path.abspath(path) + os.sep)
        roots.add(os.path.realpath(path) + os.sep)
    return tuple(sorted(roots))


def _matches_cache(module: ModuleType, fingerprint: Fingerprint) -> bool:
    """Whether the module's bytecode cache was compiled from the file as it is now.

    The cache header records the source's mtime (whole seconds) and size. No cache (or a
    hash-based one) says nothing, and the file is trusted.
    """
    cached = getattr(module, "__cached__", None)
    if not isinstance(cached, str):
        return True
    try:
        with open(cached, "rb") as f:
            header = f.read(16)
    except OSError:
        return True
    if len(header) < 16 or int.from_bytes(header[4:8], "little") & 0b1:
        return True
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    return mtime == (fingerprint.mtime_ns // 1_000_000_000) & 0xFFFFFFFF and \
        size == fingerprint.size & 0xFFFFFFFF


class SourceRegistry:
    """Baselines by module name. Thread-safe; cheap to create with hundreds of modules."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._baselines: dict[str, Baseline] = {}
        self._library = _library_roots()

    def is_library(self, path: str) -> bool:
        """Whether `path` is in the standard library or a site-packages directory, also
        through symbolic links, as they are now."""
        return path.startswith(self._library) or \
            os.path.realpath(path).startswith(self._library)

    def _library_test(self) -> Callable[[str], bool]:
        """`is_library` for many paths asked at once (every module loaded before hotswap):
        hundreds of modules share a few folders, so each folder is resolved and listed
        once (``os.path.realpath`` stats every component of a path; a listing tells links
        apart without a stat a file), and a file is resolved on its own only when it is a
        link, or was made after its folder was listed. What it learns lives as long as the
        function returned, so links changed later are seen by later calls."""
        # folder -> its path through links, and which of the files listed in it are links
        folders: dict[str, tuple[str, dict[str, bool]]] = {}

        def is_library(path: str) -> bool:
            if path.startswith(self._library):
                return True
            folder, name = os.path.split(path)
            known = folders.get(folder)
            if known is None:
                try:
                    with os.scandir(folder or os.curdir) as entries:
                        links = {e.name: e.is_symlink() for e in entries}
                except OSError:
                    links = {}
                known = folders[folder] = (os.path.realpath(folder), links)
            real, links = known
            link = links.get(name)
            if link is None:
                link = os.path.islink(path)
            if link:
                return os.path.realpath(path).startswith(self._library)
            return os.path.join(real, name).startswith(self._library)
        return is_library

    def snapshot_loaded(self) -> None:
        """Fingerprint every module loaded so far; keep the text of user code.

        Library modules get a stat only (their text is read lazily while the file still
        matches). User modules are few and are the ones people edit, so their text is read
        now, unless their compiled cache says the file changed since it was compiled.
        """
        is_library = self._library_test()
        for name, module in list(sys.modules.items()):
            if name in self._baselines or module is None:
                continue
            path = source_path(module)
            if path is None:
                continue
            fingerprint = Fingerprint.of(path)
            text = None
            if fingerprint is not None and not is_library(path) \
                    and _matches_cache(module, fingerprint):
                try:
                    text = read_source(path)
                except (OSError, SyntaxError, UnicodeDecodeError):
                    text = None
            self._baselines[name] = Baseline(path, fingerprint, text)

    def record_import(self, name: str, path: str) -> None:
        """Called as a module is about to be executed from `path`."""
        fingerprint = Fingerprint.of(path)
        text = None
        if not self.is_library(path):
            try:
                text = read_source(path)
            except (OSError, SyntaxError, UnicodeDecodeError):
                text = None
        with self._lock:
            self._baselines[name] = Baseline(path, fingerprint, text)

    def set_text(self, name: str, path: str, text: str) -> None:
        """The module now runs `text` (after an update or rollback)."""
        with self._lock:
            self._baselines[name] = Baseline(path, Fingerprint.of(path), text)

    def known_text(self, name: str) -> str | None:
        """The module's baseline text if it is already in memory (no file access)."""
        with self._lock:
            base = self._baselines.get(name)
        return base.text if base is not None else None

    def baseline(self, name: str, module: ModuleType) -> str | None:
        """The text `module` was built from, or None when that cannot be known."""
        path = source_path(module)
        if path is None:
            return None
        with self._lock:
            base = self._baselines.get(name)
        if base is None or os.path.realpath(base.path) != os.path.realpath(path):
            return None
        if base.text is not None:
            return base.text
        if base.fingerprint is not None and Fingerprint.of(path) == base.fingerprint:
            try:
                text = read_source(path)
            except (OSError, SyntaxError, UnicodeDecodeError):
                return None
            with self._lock:
                base.text = text
            return text
        return None


class _RecordingFinder:
    """A meta-path finder that finds nothing itself: it asks the finders after it and
    notes the source of every pure-Python module about to be loaded."""

    def __init__(self, registry: SourceRegistry) -> None:
        self._registry = registry

    def find_spec(self, fullname, path=None, target=None):
        spec = None
        started = False
        for finder in list(sys.meta_path):
            if finder is self:
                started = True
                continue
            if not started:
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        if spec is None:
            return None
        if (isinstance(spec.loader, importlib.machinery.SourceFileLoader)
                and isinstance(spec.origin, str) and spec.origin.endswith(".py")):
            self._registry.record_import(fullname, spec.origin)
        return spec

    def invalidate_caches(self) -> None:
        pass


REGISTRY = SourceRegistry()


def _after_fork_in_child() -> None:
    """A thread that held the registry's lock (importing, or warming up: see _warm) did
    not survive the fork: without a fresh lock the child's next import would wait forever."""
    REGISTRY._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def install() -> None:
    """Start tracking: fingerprint what is loaded and watch what is imported next."""
    if not any(isinstance(f, _RecordingFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _RecordingFinder(REGISTRY))
    REGISTRY.snapshot_loaded()
