"""The ``service`` demo: worker threads keep serving requests while their handler changes.

What a newcomer should see in ten seconds: requests never stop being answered; the update
lands between requests, so every response is wholly old or wholly new, never a mix; the
counters, the cache and the lock the handlers keep at module level are the same objects
afterwards and keep counting; a broken edit is refused while traffic goes on. Every claim
the demo prints is also checked, so it doubles as a smoke test: exit code 1 if any fails.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import hotswap

from ._common import guarded, heading, indented, scratch_module, verdict

MODULE = "service_handlers"

# The file the demo edits while the service runs. Workers call its `handle`; `stats`,
# `cache` and `lock` are live module state that no update may reset or replace.
HANDLERS_V1 = '''\
"""Request handlers of a tiny service (the code the demo edits while it serves)."""

import threading
import time

VERSION = 1

lock = threading.Lock()
stats = {"requests": 0, "profiles_built": 0}   # live counters: must survive every update
cache = {}                                      # user -> Profile: must survive too


class Profile:
    """Built once per user (the slow part, hence the cache); counts the user's visits."""

    def __init__(self, user):
        self.user = user
        self.visits = 0

    def greeting(self):
        return f"Hello, {self.user}!"


def handle(request_id, user):
    with lock:
        stats["requests"] += 1
        profile = cache.get(user)
        if profile is None:
            profile = cache[user] = Profile(user)
            stats["profiles_built"] += 1
        profile.visits += 1
        visits = profile.visits
    time.sleep(0.0005)   # the backend call each request waits for (simulated I/O)
    return render(request_id, profile, visits)


def render(request_id, profile, visits):
    return f"#{request_id} {profile.greeting()} visit {visits} [v{VERSION}]"
'''

# v2: JSON responses with a new "badge" field. A changed constant, a changed method, an
# added method, an added import, and two changed functions whose signatures must agree
# (v1 `handle` calling v2 `render` would be a TypeError).
HANDLERS_V2 = '''\
"""Request handlers of a tiny service (the code the demo edits while it serves)."""

import json
import threading
import time

VERSION = 2

lock = threading.Lock()
stats = {"requests": 0, "profiles_built": 0}   # live counters: must survive every update
cache = {}                                      # user -> Profile: must survive too


class Profile:
    """Built once per user (the slow part, hence the cache); counts the user's visits."""

    def __init__(self, user):
        self.user = user
        self.visits = 0

    def greeting(self):
        return f"Hi {self.user}"

    def badge(self, visits):
        return "regular" if visits >= 100 else "new"


def handle(request_id, user):
    with lock:
        stats["requests"] += 1
        profile = cache.get(user)
        if profile is None:
            profile = cache[user] = Profile(user)
            stats["profiles_built"] += 1
        profile.visits += 1
        visits = profile.visits
    time.sleep(0.0005)   # the backend call each request waits for (simulated I/O)
    return render(request_id, profile, visits, profile.badge(visits))


def render(request_id, profile, visits, badge):
    return json.dumps({"id": request_id, "greeting": profile.greeting(),
                       "visits": visits, "badge": badge, "v": VERSION})
'''

# v3: a "vip" badge whose threshold is looked up in a table that lacks it: the new module
# raises while it is being run, as a bad config lookup at import does.
BROKEN_LINE = 'VIP_AT = THRESHOLDS["vip"]'
HANDLERS_V3 = (HANDLERS_V2.replace("VERSION = 2", "VERSION = 3")
               .replace("\nlock = ", f'\nTHRESHOLDS = {{"regular": 100}}\n{BROKEN_LINE}\n\nlock = ')
               .replace('return "regular" if',
                        'return "vip" if visits >= VIP_AT else "regular" if'))

WORKERS = 4
USERS = ("ada", "bob", "cyd", "dee", "eve", "fay")
BURST, PAUSE = 5, 0.002        # the client sends 5 requests every 2 ms: ~2,500 a second
MAX_REQUESTS = 100_000         # a hard bound, whatever the machine's speed
PHASES = {
    1: "v1 serving",
    2: "update to v2 (hotswap.update)",
    3: "v2 serving",
    4: "refused update to v3",
    5: "v2 serving, after the refusal",
}

V1_RESPONSE = re.compile(r"#(\d+) Hello, (\w+)! visit (\d+) \[v1\]")


def parse(response: Any, request_id: int, user: str) -> tuple[int | None, int | None]:
    """(version, visits) of a response, or (None, None) if it is not wholly one version:
    every part of it (format, greeting, badge, version tag) must agree. The expected v2
    values are written out here so the check does not trust the code it is checking."""
    if not isinstance(response, str):
        return None, None
    m = V1_RESPONSE.fullmatch(response)
    if m:
        ok = int(m.group(1)) == request_id and m.group(2) == user
        return (1, int(m.group(3))) if ok else (None, None)
    try:
        data = json.loads(response)
    except ValueError:
        return None, None
    if not isinstance(data, dict) or set(data) != {"id", "greeting", "visits", "badge", "v"}:
        return None, None
    visits = data["visits"]
    ok = (data["id"] == request_id and data["greeting"] == f"Hi {user}" and data["v"] == 2
          and isinstance(visits, int) and data["badge"] == ("regular" if visits >= 100 else "new"))
    return (2, visits) if ok else (None, None)


@dataclass
class Served:
    phase: int
    request_id: int
    user: str
    response: Any


@dataclass
class Service:
    """WORKERS threads answering requests from a queue, fed by one client thread.

    Each answer is filed under the phase it ran in: the phase when the call started, if it
    also ended in it; a call that straddles a phase boundary belongs to the update (even
    numbered) phase it overlapped. So "phase 3" holds only calls made wholly after
    update() returned.
    """

    handle: Any
    phase: int = 1
    sent: int = 0
    served: list[Served] = field(default_factory=list)
    errors: list[Served] = field(default_factory=list)
    requests: queue.Queue[tuple[int, str] | None] = field(
        default_factory=lambda: queue.Queue(maxsize=256))
    stopping: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    stopped: bool | None = None

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._work, name=f"worker-{i + 1}", daemon=True)
                        for i in range(WORKERS)]
        self.threads.append(threading.Thread(target=self._client, name="client", daemon=True))
        for t in self.threads:
            t.start()

    def _client(self) -> None:
        while not self.stopping.is_set() and self.sent < MAX_REQUESTS:
            for _ in range(BURST):
                rid = self.sent + 1
                self.requests.put((rid, USERS[rid % len(USERS)]))
                self.sent = rid
            time.sleep(PAUSE)

    def _work(self) -> None:
        handle = self.handle   # taken once, at start: it must run whatever code is live
        while True:
            item = self.requests.get()
            if item is None:
                return
            rid, user = item
            start = self.phase
            try:
                response = handle(rid, user)
            except Exception as exc:  # noqa: BLE001 - an error is a result the demo counts
                self.errors.append(Served(self._file(start), rid, user,
                                          f"{type(exc).__name__}: {exc}"))
            else:
                self.served.append(Served(self._file(start), rid, user, response))

    def _file(self, start: int) -> int:
        end = self.phase
        return start if start == end or start % 2 == 0 else start + 1

    def answered(self) -> int:
        return len(self.served) + len(self.errors)

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the client, let the workers answer everything sent; True if they did.
        Never blocks for longer than `timeout`; a second call returns the first's answer."""
        if self.stopped is not None:
            return self.stopped
        self.stopping.set()
        client = self.threads[-1] if self.threads else None
        if client is not None:
            client.join(timeout)
        deadline = time.monotonic() + timeout
        while self.answered() < self.sent and time.monotonic() < deadline:
            time.sleep(0.01)
        for _ in range(WORKERS):
            try:
                self.requests.put(None, timeout=max(0.01, deadline - time.monotonic()))
            except queue.Full:
                break  # workers stuck: they are daemon threads, the report says it
        for t in self.threads[:-1]:
            t.join(max(0.0, deadline - time.monotonic()))
        self.stopped = (self.answered() == self.sent
                        and not any(t.is_alive() for t in self.threads))
        return self.stopped


class Demo:
    """The demo's own bookkeeping: the clock, printed checks, failures."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.checks = 0
        self.failures: list[str] = []

    def check(self, ok: bool, claim: str) -> bool:
        self.checks += 1
        print(f"  [{'ok' if ok else 'FAIL'}] {claim}")
        if not ok:
            self.failures.append(claim)
        return ok

    def say(self, text: str) -> None:
        print(f"  {time.monotonic() - self.t0:5.2f}s  {text}")


def main(serve: float = 0.8) -> int:
    """Run the demo; 0 if everything it showed really happened, 1 otherwise."""
    with scratch_module(MODULE, HANDLERS_V1) as (handlers, path):
        service = Service(handlers.handle)
        try:
            return guarded(lambda: _play(handlers, service, path, serve))
        finally:
            service.stop()


def _latest(service: Service, phase: int) -> Served | None:
    return next((s for s in reversed(service.served) if s.phase == phase), None)


def _serve(demo: Demo, service: Service, phase: int, seconds: float) -> None:
    service.phase = phase
    before = service.answered()
    time.sleep(seconds)
    latest = _latest(service, phase)
    demo.say(f"{service.answered() - before:,} requests answered in {seconds:.1f} s, "
             f"{sum(e.phase == phase for e in service.errors)} errors; latest response:")
    print(f"           {latest.response if latest else '(none)'}")


def _play(handlers: ModuleType, service: Service, path: Path, serve: float) -> int:
    """The demo's script, scene by scene, in the order its output reads.

    A straight sequence (print, edit the file, update, show, check), kept in one piece on
    purpose: a reader follows the story as the terminal shows it, and split into
    functions it would be scattered for no reuse.
    """
    demo = Demo()
    print("hotswap demo: a threaded service whose request handler changes while it serves")
    print(f"{WORKERS} worker threads take requests from a queue and call handlers.handle(),")
    print("which waits ~0.5 ms on a (simulated) backend mid-request; a client thread keeps")
    print("sending requests. The demo rewrites the handlers module's file and calls")
    print("hotswap.update(handlers); nothing stops or restarts.")
    print(f"  handlers file: {path}")

    heading("1. Serving with handlers v1")
    stats, cache, lock = handlers.stats, handlers.cache, handlers.lock
    profile_class, handle = handlers.Profile, handlers.handle
    service.start()
    demo.say(f"service up: {WORKERS} workers hold `handle = handlers.handle`, taken now")
    _serve(demo, service, 1, serve)
    profiles = dict(cache)
    demo.say(f"live module state: stats={stats}")
    print(f"           cache: {len(cache)} cached profiles, id(cache)={id(cache):#x}")

    heading("2. Edit the file to v2, then hotswap.update(handlers, check=probe), mid-traffic")
    print(f"  the demo rewrites {path.name} with these changes:")
    print("    VERSION = 1 -> 2, import json         a changed constant, an added import")
    print("    render(): JSON, with a new 'badge'    a changed function (new signature)")
    print("    handle(): passes profile.badge(...)   a changed function")
    print("    Profile.greeting(): 'Hi <user>'       a changed method")
    print("    Profile.badge(): new                  an added method (cached profiles get it)")
    print("  probe, the check: render one response with the new code, without touching the")
    print("  live counters, and raise (so the update is rolled back) unless it is v2.")
    print("  update() swaps the code at a moment when no worker is inside the handlers: a")
    print("  request begun in v1 handle() that went on into v2 render() would crash.")
    print("  (a hotswap.Watcher(handlers).start() makes the same call when the file is saved)")
    probes: list[str] = []

    def probe() -> None:
        profile = handlers.Profile("probe")
        response = handlers.render(0, profile, 1, profile.badge(1))
        if parse(response, 0, "probe")[0] != 2:
            raise ValueError(f"not a v2 response: {response!r}")
        probes.append(response)

    path.write_text(HANDLERS_V2)
    service.phase = 2
    before = service.answered()
    started = time.perf_counter()
    try:
        report = hotswap.update(handlers, check=probe)
    except hotswap.UpdateError as exc:
        service.phase = 3
        demo.check(False, f"the v2 update was applied (it raised: {exc})")
        return _finish(demo, service, handlers)
    took = time.perf_counter() - started
    service.phase = 3
    demo.say(f"hotswap.update returned after {took * 1000:.0f} ms; the workers answered "
             f"{service.answered() - before} requests meanwhile")
    print(f"  probe's response: {probes[0] if probes else '(probe did not run)'}")
    print("  print(report):")
    print(indented(str(report)))
    demo.check(report.changed and hotswap.generation(handlers) == 1,
               "the report says the module changed (generation 1)")
    demo.check(not any("still running" in note for note in report.notes),
               "applied at a quiet moment: no request was half-way through the handlers")

    heading("3. Serving with v2: same state, new responses")
    _serve(demo, service, 3, serve)
    demo.check(handlers.handle is handle,
               "`handle`, held by the workers since v1, is handlers.handle: it runs v2 code")
    demo.check(handlers.stats is stats and handlers.cache is cache and handlers.lock is lock,
               f"handlers.stats, .cache and .lock are the same objects as in v1 "
               f"(id(cache)={id(handlers.cache):#x})")
    demo.check(all(cache.get(u) is p for u, p in profiles.items())
               and handlers.Profile is profile_class
               and all(type(p) is profile_class and hasattr(p, "badge") for p in cache.values()),
               f"the {len(profiles)} cached profiles are the same objects, of the same class, "
               "and gained badge()")
    v2_visits = [parse(s.response, s.request_id, s.user)[1] for s in service.served
                 if s.phase == 3][:1]
    demo.check(stats["profiles_built"] == len(USERS) and bool(v2_visits)
               and (v2_visits[0] or 0) > 1,
               f"counters kept counting: profiles_built={stats['profiles_built']} (none rebuilt), "
               f"requests={stats['requests']:,}, first v2 visit number "
               f"{v2_visits[0] if v2_visits else '?'} (not 1)")

    heading("4. A broken edit (v3) is refused while serving")
    bad_line = HANDLERS_V3.splitlines().index(BROKEN_LINE) + 1
    print("  v3 sets VERSION = 3 and adds a 'vip' badge, but its threshold is missing:")
    print(f"    line {bad_line}: {BROKEN_LINE}     <- KeyError when the module runs")
    namespace = dict(vars(handlers))
    codes = _codes(handlers)
    path.write_text(HANDLERS_V3)
    service.phase = 4
    try:
        hotswap.update(handlers)
    except hotswap.UpdateError as exc:
        service.phase = 5
        demo.say("hotswap.update(handlers) raised UpdateError:")
        print(indented(str(exc)))
        demo.check(exc.filename == str(path) and exc.lineno == bad_line
                   and f"{path}:{bad_line}" in str(exc),
                   f"the error names the file and line {bad_line}")
    else:
        service.phase = 5
        demo.check(False, "the broken v3 was refused with UpdateError")
    unchanged = (vars(handlers).keys() == namespace.keys()
                 and all(vars(handlers)[k] is v for k, v in namespace.items())
                 and codes == _codes(handlers) and hotswap.generation(handlers) == 1)
    demo.check(unchanged, "nothing changed: same module namespace and code, still generation 1")
    _serve(demo, service, 5, serve)
    return _finish(demo, service, handlers)


def _codes(handlers: ModuleType) -> list[Any]:
    """The code objects the workers run, to tell that a refused update swapped none."""
    fns = (handlers.handle, handlers.render, getattr(handlers.Profile, "greeting", None),
           getattr(handlers.Profile, "badge", None))
    return [getattr(f, "__code__", None) for f in fns]


def _finish(demo: Demo, service: Service, handlers: ModuleType) -> int:
    stopped = service.stop()
    demo.say(f"service stopped: {service.sent:,} requests sent, {service.answered():,} answered")

    heading("Timeline")
    rows: dict[int, Counter[str]] = defaultdict(Counter)
    versions: dict[int, set[int]] = defaultdict(set)
    visits: dict[str, list[int]] = defaultdict(list)
    for s in service.served:
        version, n = parse(s.response, s.request_id, s.user)
        rows[s.phase]["served"] += 1
        if version is None:
            rows[s.phase]["mixed"] += 1
        else:
            versions[s.phase].add(version)
            visits[s.user].append(n)  # type: ignore[arg-type]  # a version, so a number
    for e in service.errors:
        rows[e.phase]["errors"] += 1
    print(f"  {'phase':<34}{'answered':>9}{'errors':>8}{'mixed':>7}  versions seen")
    for phase, name in PHASES.items():
        row = rows[phase]
        seen = ", ".join(f"v{v}" for v in sorted(versions[phase])) or "-"
        print(f"  {phase}. {name:<31}{row['served'] + row['errors']:>9,}{row['errors']:>8}"
              f"{row['mixed']:>7}  {seen}")
    total = sum(rows.values(), Counter())
    print(f"  {'total':<34}{total['served'] + total['errors']:>9,}{total['errors']:>8}"
          f"{total['mixed']:>7}")
    for e in service.errors[:3]:
        print(f"  error in phase {e.phase}, request #{e.request_id}: {e.response}")
    for s in [s for s in service.served if parse(s.response, s.request_id, s.user)[0] is None][:3]:
        print(f"  mixed or malformed, phase {s.phase}: {s.response!r}")

    heading("Summary")
    ids = sorted(s.request_id for s in [*service.served, *service.errors])
    demo.check(stopped and ids == list(range(1, service.sent + 1)),
               f"zero dropped: all {service.sent:,} requests sent were answered, each once")
    demo.check(not service.errors, "zero errors, before, during and after both updates")
    demo.check(total["mixed"] == 0,
               "zero mixed responses: each was wholly v1 or wholly v2 in every part")
    demo.check(all(rows[p]["served"] > 0 for p in (1, 3, 5)),
               "requests were answered in every serving phase (1, 3 and 5)")
    demo.check(versions[1] == {1} and versions[3] == {2} and versions[4] <= {2}
               and versions[5] == {2},
               "v1 before the update; only v2 once update() returned, also after the refusal")
    counts = {u: len(v) for u, v in visits.items()}
    demo.check(all(sorted(v) == list(range(1, len(v) + 1)) for v in visits.values())
               and all(handlers.cache[u].visits == n for u, n in counts.items()),
               "every user's visit numbers run 1, 2, 3, ... across v1 and v2, no gap or repeat: "
               "the cached profiles kept counting")
    demo.check(handlers.stats["requests"] == len(ids),
               f"handlers.stats['requests'] = {handlers.stats['requests']:,}, one per request "
               "answered: no count lost to an update")
    return verdict(demo.failures, demo.checks)
