"""Chinese text: jieba tokens and a similarity between two descriptions (rapidfuzz).

jieba builds its dictionary (or loads its cache, about half a second) on first use; that happens once
per process, under a lock, and our taxonomy words are added so 红叶石楠 or 石墩 stay one token.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from redprop.services.matching.taxonomy import all_terms

_lock = threading.Lock()
_ready = False
_WORD = re.compile(r"[\w]", re.UNICODE)
#: Words that say nothing about what is offered or needed.
STOPWORDS = frozenset("的 了 和 与 及 或 是 在 有 个 一 一批 若干 可 可以 需要 急需 希望 用于 用 给 把 等 为 对 "
                      "我们 小区 社区 居民 提供 捐赠 闲置 全新 旧 the a an of and or for to with".split())


def warm_up() -> None:
    """Load jieba's dictionary now (service start-up) rather than inside the first matching run."""
    _initialise()


def _initialise() -> None:
    global _ready
    if _ready:
        return
    with _lock:
        if _ready:
            return
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        for term in all_terms():
            jieba.add_word(term, freq=200_000)
        _ready = True


@lru_cache(maxsize=65_536)
def tokens(text: str) -> tuple[str, ...]:
    """Meaningful tokens of ``text``, lower-cased, in order, without stopwords and punctuation."""
    _initialise()
    import jieba

    out = []
    for tok in jieba.cut(text.lower()):
        tok = tok.strip()
        if tok and _WORD.search(tok) and tok not in STOPWORDS:
            out.append(tok)
    return tuple(out)


def similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """0..1: how alike two token sequences are (token-set ratio, robust to order and extra words)."""
    if not a or not b:
        return 0.0
    return fuzz.token_set_ratio(" ".join(a), " ".join(b)) / 100.0


def similarities(a: list[str], b: list[str]) -> np.ndarray:
    """``similarity`` for many pairs at once: ``a[k]`` with ``b[k]``, each a token sequence already
    joined by spaces (one call into rapidfuzz instead of one per pair)."""
    if not a:
        return np.zeros(0)
    out = process.cpdist(a, b, scorer=fuzz.token_set_ratio, dtype=np.float64) / 100.0
    empty = np.fromiter((not x or not y for x, y in zip(a, b, strict=True)), dtype=bool, count=len(a))
    out[empty] = 0.0
    return out


def shared(a: tuple[str, ...], b: tuple[str, ...]) -> list[str]:
    seen = set(b)
    return sorted({t for t in a if t in seen})
