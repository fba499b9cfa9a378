"""py-spy profiles of the benchmarked paths, kept as short text summaries (``bench/profiles/``).

The one place the bench records and summarises profiles:

- ``Profile(pid, path, title).start()`` ... ``.stop()`` records a running process (a service under a
  benchmark's load) with ``py-spy record``; by default ``--gil`` (only samples where a thread holds the
  GIL: the CPU the Python code spends, not its waits on the database, the broker or the hub's poll).
  It writes ``path``: the frames that took the largest share of the samples, inclusive of what they
  called, and by their own code. The raw samples stay beside it (``.raw``, folded stacks:
  ``flamegraph.pl`` or speedscope draw them) when ``keep_raw`` is set.
- ``python -m bench.profiling RAW [--root NAME] [--top N]`` summarises folded stacks recorded by hand,
  e.g. of a workload of ``bench.profile_targets``; with ``--root`` only the samples whose stack passes
  through a frame containing NAME count, from that frame up (the path profiled, not its set-up).

py-spy is in requirements/dev.txt; without it a profile is skipped and says so.
"""

from __future__ import annotations

import collections
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from bench.common import PYTHON

_SPY = Path(PYTHON).with_name("py-spy")
_LOCATION = re.compile(r" \((?:.*/)?([^/]+/[^/]+?)(?::\d+)?\)$")


def py_spy() -> str | None:
    return str(_SPY) if _SPY.exists() else shutil.which("py-spy")


def fold(raw: str) -> collections.Counter:
    """Folded stacks (``a;b;c 12``) to samples per stack, frames named ``function (dir/file.py)``."""
    stacks: collections.Counter = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(_LOCATION.sub(r" (\1)", f) for f in stack.split(";"))] += int(count)
    return stacks


def shares(stacks: collections.Counter, names: dict[str, str]) -> dict[str, float]:
    """The share of samples whose stack has a frame containing each of ``names``' values."""
    total = sum(stacks.values()) or 1
    return {label: sum(n for stack, n in stacks.items() if any(part in f for f in stack)) / total
            for label, part in names.items()}


def rooted(stacks: collections.Counter, root: str) -> collections.Counter:
    """Only the stacks through a frame containing ``root``, cut to start at its first such frame."""
    kept: collections.Counter = collections.Counter()
    for stack, n in stacks.items():
        start = next((k for k, frame in enumerate(stack) if root in frame), None)
        if start is not None:
            kept[stack[start:]] += n
    return kept


def summary(stacks: collections.Counter, title: str, top: int = 40,
            sampling: str = "py-spy record --gil, 100 Hz") -> str:
    total = sum(stacks.values())
    if not total:
        return f"{title}\nno samples\n"
    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    for stack, n in stacks.items():
        for frame in set(stack):
            inclusive[frame] += n
        own[stack[-1]] += n
    lines = [title, f"{total} samples ({sampling})", "", "share  inclusive (the frame and what it called)"]
    lines += [f"{100 * n / total:5.1f}% {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", "share  own code"]
    lines += [f"{100 * n / total:5.1f}% {frame}" for frame, n in own.most_common(top)]
    return "\n".join(lines) + "\n"


class Profile:
    def __init__(self, pid: int, path: Path, title: str, keep_raw: bool = False, rate: int = 100,
                 gil: bool = True):
        self.pid, self.path, self.title, self.keep_raw = pid, Path(path), title, keep_raw
        self.rate, self.gil = rate, gil
        self.stacks: collections.Counter = collections.Counter()
        self._proc = None
        self._raw = Path(tempfile.mkstemp(suffix=".folded")[1])

    def start(self) -> Profile:
        spy = py_spy()
        if spy is not None:
            self._proc = subprocess.Popen([spy, "record", *(["--gil"] if self.gil else []), "--nonblocking",
                                           "-r", str(self.rate), "--format", "raw",
                                           "-o", str(self._raw), "--pid", str(self.pid)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def stop(self) -> Profile:
        if self._proc is None:
            return self
        self._proc.send_signal(signal.SIGINT)
        self._proc.wait(timeout=60)
        raw = self._raw.read_text(encoding="utf-8") if self._raw.exists() else ""
        self._raw.unlink(missing_ok=True)
        self.stacks = fold(raw)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sampling = f"py-spy record{' --gil' if self.gil else ''}, {self.rate} Hz"
        self.path.write_text(summary(self.stacks, self.title, sampling=sampling), encoding="utf-8")
        if self.keep_raw:
            self.path.with_suffix(".raw").write_text(raw, encoding="utf-8")
        return self

    @property
    def recorded(self) -> bool:
        return bool(self.stacks)


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m bench.profiling", description="Summarise py-spy's folded stacks.")
    p.add_argument("raw", type=Path, help="py-spy record --format raw output")
    p.add_argument("--root", help="count only stacks through a frame containing this, from that frame up")
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args(argv)
    stacks = fold(args.raw.read_text(encoding="utf-8", errors="replace"))
    title = f"py-spy samples of {args.raw.name}"
    if args.root:
        stacks, title = rooted(stacks, args.root), f"{title} under {args.root!r}"
    print(summary(stacks, title, args.top, sampling="py-spy record, as recorded"), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
