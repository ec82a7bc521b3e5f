"""The libraries the replay walks through, and the released versions of each.

Chosen for being popular, pure Python, and shipping their tests in the source
distribution, with suites that run under plain pytest plus the few packages of the
``bench`` extra (freezegun, pretend, tomli-w). The versions are consecutive releases, so
each step is one real release diff. ``packaging`` is left out on purpose: pytest imports
its own installed copy, so a live replay could not own the module name; so is ``markdown``,
whose suite stops at collection under pytest 9 (it imports ``unittest.TestSuite`` into a
test module) and takes two minutes when told to go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Library:
    """One library: its distribution name, the import names it owns and its tests.

    `packages` are the top-level import names (a folder, or a single ``name.py``) copied
    into the work folder; `tests` are paths inside the source distribution copied beside
    them (a path inside a package folder is fine: its modules are treated as tests, not as
    the live program; a path a version lacks is passed over, so a release may move its
    tests); `pytest_args` narrow a suite that would blow the time budget (the slowest
    tests: prime sieves, a conformance table of 6,000 rows, hypothesis properties).
    """

    dist: str
    versions: tuple[str, ...]
    packages: tuple[str, ...]
    tests: tuple[str, ...] = ("tests",)
    pytest_args: tuple[str, ...] = field(default=())


LIBRARIES: tuple[Library, ...] = (
    Library("more-itertools", ("10.8.0", "11.0.0", "11.0.1", "11.0.2", "11.1.0"),
            ("more_itertools",),
            pytest_args=("--deselect=tests/test_recipes.py::PrimeFunctionTests::test_primes",
                         "--deselect=tests/test_more.py::ExtractTests::test_all_orderings",
                         "--deselect=tests/test_more.py::TestConcurrentTee",
                         "--deselect=tests/test_more.py::DiscreteFourierTransformTests",
                         "--deselect=tests/test_recipes.py::PolynomialFromRootsTests")),
    Library("toolz", ("0.12.0", "0.12.1", "1.0.0", "1.1.0", "1.2.0"), ("toolz", "tlz"),
            tests=("toolz/tests",)),
    Library("idna", ("3.17", "3.18", "3.19", "3.20", "3.21"), ("idna",),
            pytest_args=("--ignore=tests/test_idna_uts46.py",
                         "--ignore=tests/test_idna_properties.py",
                         "--ignore=tests/test_idna_concurrency.py",
                         "--ignore=tests/test_idna_fuzz_targets.py")),
    Library("humanize", ("4.13.0", "4.14.0", "4.15.0", "4.16.0", "4.17.0"), ("humanize",)),
    # boltons before 26.0 has a conftest hook that pytest 9 rejects: three versions only
    Library("boltons", ("26.0.0", "26.1.0", "26.2.0"), ("boltons",)),
    Library("python-dateutil", ("2.8.0", "2.8.1", "2.8.2", "2.9.0", "2.9.0.post0"),
            ("dateutil",), tests=("dateutil/test", "tests")),
    Library("cachetools", ("7.3.3", "8.0.0", "8.0.1", "8.0.2", "8.0.3"), ("cachetools",)),
    Library("six", ("1.13.0", "1.14.0", "1.15.0", "1.16.0", "1.17.0"), ("six",),
            tests=("test_six.py",)),
    Library("tabulate", ("0.8.9", "0.8.10", "0.9.0", "0.10.0"), ("tabulate",),
            tests=("test",)),
)

# What tests/test_replay.py replays in CI: two libraries whose suites need only pytest,
# three versions each (two updates), well under a minute.
CI_SUBSET: dict[str, tuple[str, ...]] = {
    "cachetools": ("8.0.0", "8.0.1", "8.0.2"),
    "six": ("1.15.0", "1.16.0", "1.17.0"),
}


def library(dist: str) -> Library:
    """The catalogue entry named `dist` (KeyError names the known ones)."""
    for lib in LIBRARIES:
        if lib.dist == dist:
            return lib
    raise KeyError(f"{dist!r} is not in the replay catalogue: "
                   f"{', '.join(lib.dist for lib in LIBRARIES)}")
