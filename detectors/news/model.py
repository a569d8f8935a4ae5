"""An online text model of headlines: one river logistic regression per category, on hashed
character n-grams.

Character n-grams (two to four characters, the text lower-cased and padded with spaces) need
no word segmenter, so Chinese and English go through the same code. Each n-gram is hashed
into ``2**bits`` features by a polynomial hash of its code points and a multiplicative mix
(stable across processes and machines, unlike Python's ``hash``).
The model learns one example at a time (`learn`), so analysts' corrections and outcomes
improve it without a refit; a head answers only once it has seen ``min_examples`` examples
and both answers among them (`probabilities`).

Besides the categories, a ``distress`` head learns from outcomes: whether the customer a
headline was about defaulted within the following year.

>>> model = HeadlineModel(min_examples=4)
>>> for text, cats in [("acme files for insolvency", {"insolvency"}),
...                    ("acme wins big order", {"positive"})] * 4:
...     model.learn(text, cats)
>>> model.probabilities("beta files for insolvency")["insolvency"] > 0.5
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from detectors.names import fold
from detectors.news.lexicon import CATEGORIES

DISTRESS = "distress"
HEADS = (*CATEGORIES, DISTRESS)
STATE_VERSION = 1
READ_CACHE = 65536
"""Headlines whose probabilities are kept for their copies (then forgotten at once)."""
_PRIME = np.uint64(1_000_003)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _head() -> Any:
    """A river logistic regression (river, with scipy and pandas behind it, is imported
    only when a model learns: reading needs the weights alone)."""
    from river import linear_model, optim

    return linear_model.LogisticRegression(optimizer=optim.SGD(0.5), l2=1e-6)


class HeadlineModel:
    """Per-category online logistic regressions over hashed character n-grams."""

    def __init__(self, bits: int = 18, ngrams: tuple[int, ...] = (2, 3, 4),
                 min_examples: int = 20) -> None:
        self.bits = bits
        self.ngrams = ngrams
        self.min_examples = min_examples
        self._heads: dict[str, Any] | None = None
        """The river heads, made when the model first learns."""
        self._saved: dict[str, tuple[float, dict[int, float]]] = {
            name: (0.0, {}) for name in HEADS}
        """Per head its intercept and weights while no river head holds them (a model
        read from a file reads without river)."""
        self.seen = {name: [0, 0] for name in HEADS}
        """Per head: negative and positive examples learned."""
        self._table: tuple[list[str], np.ndarray, np.ndarray] | None = None
        """The ready heads' weights as one dense matrix, for fast reading (rebuilt after
        learning; not part of the state)."""
        self._read: dict[str, dict[str, float]] = {}
        """Probabilities by headline since the last example learned (copies of a story
        are read once; not part of the state)."""

    @property
    def heads(self) -> dict[str, Any]:
        """The river heads (made from the saved weights on first use)."""
        if self._heads is None:
            heads = {}
            for name in HEADS:
                head = heads[name] = _head()
                intercept, weights = self._saved[name]
                head.intercept = intercept
                for key, weight in weights.items():
                    head._weights[key] = weight  # noqa: SLF001 (river keeps them here)
            self._heads = heads
        return self._heads

    def _state(self, name: str) -> tuple[float, dict[int, float]]:
        """A head's intercept and weights, from river's head when one has been made."""
        if self._heads is None:
            return self._saved[name]
        head = self._heads[name]
        return float(head.intercept), head._weights  # noqa: SLF001

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_table"] = None
        state["_read"] = {}
        return state

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The headline's hashed character n-grams (feature numbers, ascending) and their
        counts scaled to unit length."""
        padded = f" {fold(text)} "
        codes = np.frombuffer(padded.encode("utf-32-le", "surrogatepass"),
                              dtype=np.uint32).astype(np.uint64)
        shift = np.uint64(64 - self.bits)
        keys = []
        for n in self.ngrams:
            count = len(codes) - n + 1
            if count <= 0:
                continue
            h = np.full(count, n, dtype=np.uint64)
            for j in range(n):
                h = h * _PRIME + codes[j:j + count]
            keys.append((h * _MIX) >> shift)
        if not keys:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        found, counts = np.unique(np.concatenate(keys), return_counts=True)
        values = counts.astype(np.float64)
        return found.astype(np.int64), values / math.sqrt(float(values @ values))

    def _x(self, text: str) -> dict[int, float]:
        keys, values = self.features(text)
        return dict(zip(keys.tolist(), values.tolist(), strict=True))

    def learn(self, text: str, categories: Iterable[str]) -> None:
        """One labelled headline: it is about ``categories`` and about no other."""
        wanted = set(categories)
        x = self._x(text)
        for name in CATEGORIES:
            self._learn(name, x, name in wanted)

    def learn_outcome(self, text: str, defaulted: bool) -> None:
        """One headline whose customer did (or did not) default within the next year."""
        self._learn(DISTRESS, self._x(text), defaulted)

    def _learn(self, name: str, x: dict[int, float], answer: bool) -> None:
        self._table = None
        self._read.clear()
        self.heads[name].learn_one(x, answer)
        self.seen[name][int(answer)] += 1

    def ready(self, name: str) -> bool:
        negative, positive = self.seen[name]
        return negative + positive >= self.min_examples and negative > 0 and positive > 0

    @property
    def active(self) -> bool:
        return any(self.ready(name) for name in HEADS)

    def probabilities(self, text: str) -> dict[str, float]:
        """Each ready head's probability that the headline is of its kind."""
        known = self._read.get(text)
        if known is not None:
            return dict(known)
        if len(self._read) >= READ_CACHE:
            self._read.clear()
        self._read[text] = self._probabilities(text)
        return dict(self._read[text])

    def _probabilities(self, text: str) -> dict[str, float]:
        if self._table is None:
            self._table = self._dense()
        ready, weights, intercepts = self._table
        if not ready:
            return {}
        keys, values = self.features(text)
        z = values @ weights[keys] + intercepts
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))
        return dict(zip(ready, p.tolist(), strict=True))

    def _dense(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The ready heads as a (2**bits, heads) weight matrix and their intercepts (what
        river's ``predict_proba_one`` computes, for all heads at once)."""
        ready = [name for name in HEADS if self.ready(name)]
        weights = np.zeros((1 << self.bits, len(ready)))
        for j, name in enumerate(ready):
            for key, weight in self._state(name)[1].items():
                weights[key, j] = weight
        intercepts = np.array([self._state(name)[0] for name in ready])
        return ready, weights, intercepts

    # -- state, as plain JSON ---------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The learned state: per head its intercept, weights and example counts."""
        return {
            "version": STATE_VERSION, "bits": self.bits, "ngrams": list(self.ngrams),
            "min_examples": self.min_examples,
            "heads": {name: {"intercept": self._state(name)[0], "seen": self.seen[name],
                             "weights": {str(k): float(v) for k, v in sorted(
                                 self._state(name)[1].items()) if v}}
                      for name in HEADS},
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> HeadlineModel:
        """A model with the learned state of `to_json`."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"headline model state version {state.get('version')!r} is not "
                             f"{STATE_VERSION}")
        model = cls(int(state["bits"]), tuple(state["ngrams"]), int(state["min_examples"]))
        for name, saved in state["heads"].items():
            if name not in model._saved:
                raise ValueError(f"headline model has an unknown head {name!r}")
            model._saved[name] = (float(saved["intercept"]),
                                  {int(k): float(w) for k, w in saved["weights"].items()})
            model.seen[name] = [int(saved["seen"][0]), int(saved["seen"][1])]
        return model
