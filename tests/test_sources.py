"""The source each module was built from, as `hotswap._sources` reads it: the text the
import system would decode, and the library files told apart from the program's own,
also through symbolic links."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotswap._sources import SourceRegistry, read_source

PIECES = [b"x = 1", b"\n", b"\r\n", b"\r", b"# -*- coding: latin-1 -*-", b"#coding=utf-8",
          b"# coding: nonsense", b"\xef\xbb\xbf", "\u00e9".encode(), "\u00e9".encode("latin-1"),
          b"coding", b"# ", b"\t", "\u20ac".encode()]


def _decoded(data: bytes) -> str | type[BaseException]:
    try:
        return importlib.util.decode_source(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return type(exc)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from(PIECES), max_size=12))
def test_a_source_reads_as_the_import_system_decodes_it(parts: list[bytes],
                                                        tmp_path: Path) -> None:
    data = b"".join(parts)
    path = tmp_path / "m.py"
    path.write_bytes(data)
    want = _decoded(data)
    if isinstance(want, str):
        assert read_source(str(path)) == want
    else:  # the bad byte or cookie is named as a SyntaxError, as the import system does
        with pytest.raises(SyntaxError):
            read_source(str(path))


def test_library_files_are_told_apart_also_through_links(tmp_path: Path) -> None:
    registry = SourceRegistry()
    stdlib = os.path.dirname(os.__file__)
    mine = tmp_path / "app"
    mine.mkdir()
    (mine / "own.py").write_text("x = 1\n")
    (mine / "borrowed.py").symlink_to(os.path.join(stdlib, "os.py"))
    (tmp_path / "lib").symlink_to(stdlib)
    one_by_one = registry.is_library
    at_once = registry._library_test()  # what snapshot_loaded asks, folder by folder
    for is_library in (one_by_one, at_once):
        assert is_library(os.path.join(stdlib, "os.py"))
        assert is_library(str(tmp_path / "lib" / "os.py"))  # a folder linked there
        assert is_library(str(mine / "borrowed.py"))  # a file linked there
        assert not is_library(str(mine / "own.py"))
        assert not is_library(str(mine / "new.py"))  # a file not there when listed
    (mine / "late.py").symlink_to(os.path.join(stdlib, "os.py"))  # after the listing
    assert at_once(str(mine / "late.py")) and one_by_one(str(mine / "late.py"))
