"""py-spy's raw (collapsed) stacks as a top-N table: ``python -m bench.pyspy_top RAW ROOT [N]``.

Only samples whose stack passes through a frame whose name contains ROOT count (the path profiled, not
the set-up around it). Inclusive: the share of those samples with the function anywhere on the stack;
self: with the function on top (idle samples, ``--idle``, are time spent waiting for the database).
"""

from __future__ import annotations

import sys
from collections import Counter


def top(path: str, root: str, n: int = 30) -> str:
    inclusive, own, total = Counter(), Counter(), 0
    with open(path) as raw:
        for line in raw:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            frames = stack.split(";")
            starts = [k for k, f in enumerate(frames) if root in f]
            if not starts:
                continue
            # "function (file:line)" -> "function (file)": lines of one function are added up.
            names = [f.rsplit(":", 1)[0] + ")" if ":" in f else f for f in frames[starts[0]:]]
            samples = int(count)
            total += samples
            for name in set(names):
                inclusive[name] += samples
            own[names[-1]] += samples
    lines = [f"py-spy samples under {root!r}: {total}", "", "inclusive  function (file)"]
    lines += [f"{100 * v / total:8.1f}%  {k}" for k, v in inclusive.most_common(n)]
    lines += ["", "self       function (file)"]
    lines += [f"{100 * v / total:8.1f}%  {k}" for k, v in own.most_common(n // 2)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(top(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 30), end="")
