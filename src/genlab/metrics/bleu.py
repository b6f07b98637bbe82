"""BLEU and self-BLEU of generated sentences, computed as the text-GAN papers compute them.

The papers (SeqGAN, LeakGAN, RelGAN, ...) report Texygen's metrics (geek-ai/Texygen
``utils/metrics/Bleu.py`` and ``SelfBleu.py``; weilinie/RelGAN ``utils/metrics/`` is a variant), which
call NLTK's ``nltk.translate.bleu_score.sentence_bleu``. Facts confirmed by reading those files and
NLTK 3.10's ``bleu_score.py``:

- BLEU-n of a generated set is the mean over the generated sentences (hypotheses) of
  ``sentence_bleu(all reference sentences, hypothesis, weights=(1/n,) * n,
  smoothing_function=SmoothingFunction().method1)``: every hypothesis is scored against the whole
  reference set at once, not against one sentence.
- ``sentence_bleu`` for orders k = 1..n: the modified precision p_k = Σ_g min(count_hyp(g), max_r
  count_r(g)) / max(1, number of k-grams of the hypothesis), the clip being the largest count of
  the k-gram g in any single reference. If no unigram matches (p_1 has numerator 0, which includes
  the empty hypothesis), the score is 0. ``method1`` replaces a zero numerator by epsilon = 0.1, so
  p_k = 0.1 / max(1, number of k-grams): a hypothesis shorter than k gets p_k = 0.1.
  BLEU = BP · exp(Σ_k (1/n) · log p_k).
- The brevity penalty uses the reference length r closest to the hypothesis length c (a tie goes
  to the shorter reference): BP = 1 if c > r, else exp(1 - r / c).
- Texygen's BLEU: ``get_bleu`` / ``get_score(is_fast=False)`` use every line of the reference file;
  ``get_score()`` defaults to ``is_fast=True``, which keeps only the first 500 reference lines
  (``sample_size``; the hypotheses are never subsampled). The Texygen authors answered
  (geek-ai/Texygen issue #8) that their paper used the full reference set. RelGAN's ``Bleu`` instead
  scores the first 200 generated sentences against the whole (shuffled) test file.
- Texygen's self-BLEU: the generated sentences are both sides. ``get_score()`` (fast, the default)
  keeps the first 500 generated sentences and scores each against the other 499; the parallel path
  (``is_fast=False``) scores each of all sentences against all the others. Both leave the sentence
  itself out. Its sequential ``get_bleu`` (unused by ``get_score``), and RelGAN's ``SelfBleu`` (first
  200 sentences against all generated sentences), keep the sentence among its own references, so
  every score is 1 (RelGAN issue #7, Texygen issues #27 and #46).

What genlab computes:

- ``corpus_scores``: BLEU-n of every hypothesis against every reference, averaged (Texygen's full
  protocol). Subsample before calling to reproduce a variant (first 200 hypotheses: RelGAN).
- ``self_bleu``: the first ``sample`` sentences (500 by default, Texygen's ``get_score()``; None for all
  of them), each scored against the others of that pool, itself left out.
- The scores equal NLTK's bit for bit on the same tokens (the tests check ``BleuReference`` against
  a direct transcription of NLTK's ``sentence_bleu``).
- Tokenisation is the caller's: the functions take lists of tokens. Texygen tokenises every line with
  ``nltk.word_tokenize``, which splits punctuation off words (``night.`` → ``night`` ``.``) and turns
  ``"`` into ``` `` ``` / ``''``; on Texygen's COCO files plain whitespace splitting keeps ``night.``
  whole, which changes the n-grams and so the scores. Tokenise hypotheses and references the same way.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence

from genlab.errors import ConfigError, DataError

EPSILON = 0.1  # NLTK's SmoothingFunction.method1: the count that replaces a zero match count
TEXYGEN_SELF_BLEU_SAMPLE = 500  # Texygen's sample_size: self-BLEU pools the first 500 sentences

Tokens = Sequence[str]
Ngram = tuple[str, ...]


def ngram_counts(tokens: Tokens, order: int) -> Counter[Ngram]:
    """How often each n-gram of length ``order`` occurs in ``tokens`` (empty when shorter than ``order``)."""
    return Counter(zip(*(tokens[i:] for i in range(order))))


def brevity_penalty(reference_length: int, hypothesis_length: int) -> float:
    """BP = 1 if c > r, 0 for an empty hypothesis, else exp(1 - r / c) (c: hypothesis, r: reference length)."""
    if hypothesis_length > reference_length:
        return 1.0
    if hypothesis_length == 0:
        return 0.0
    return math.exp(1 - reference_length / hypothesis_length)


def bleu_from_counts(matches: Sequence[int], totals: Sequence[int], hypothesis_length: int, reference_length: int,
                     order: int) -> float:
    """BLEU-``order`` from the clipped match counts and the n-gram totals of orders 1..order (lists of ≥ order).

    ``totals[k]`` is already max(1, number of (k+1)-grams). Each term is (1/n) · log p_k with the weight
    computed first, as NLTK does, so that the result is bit-identical to ``nltk sentence_bleu``.
    """
    if matches[0] == 0:
        return 0.0
    weight = 1.0 / order
    log_precisions = (weight * math.log((match if match else EPSILON) / total)
                      for match, total in zip(matches[:order], totals[:order]))
    return brevity_penalty(reference_length, hypothesis_length) * math.exp(math.fsum(log_precisions))


class BleuReference:
    """A reference set preprocessed once, so that each hypothesis costs a few dictionary look-ups.

    Per n-gram (orders 1..max_order) it keeps the largest count in any one reference, and, where a
    single reference holds that count, the largest count among the other references: enough to
    score one of the references against all the others (self-BLEU) without recounting them.
    """

    def __init__(self, references: Sequence[Tokens], max_order: int = 5) -> None:
        if not references:
            raise DataError("BLEU needs at least one reference sentence; pass a non-empty reference set.")
        if max_order < 1:
            raise ConfigError(f"max_order must be at least 1, got {max_order}.")
        self.references = references
        self.max_order = max_order
        self.largest: dict[Ngram, int] = {}
        holders: dict[Ngram, int] = {}  # how many references reach the largest count
        runner_up: dict[Ngram, int] = {}  # for a sole holder of the largest count: the others' largest
        for reference in references:
            for n in range(1, max_order + 1):
                for gram, count in ngram_counts(reference, n).items():
                    top = self.largest.get(gram, 0)
                    if count > top:
                        runner_up[gram], self.largest[gram], holders[gram] = top, count, 1
                    elif count == top:
                        holders[gram] += 1
                    elif count > runner_up[gram]:
                        runner_up[gram] = count
        # Only a sole holder changes the clip when it is left out; for a tie the others still reach it.
        self.largest_of_others = {gram: runner_up[gram] for gram, held in holders.items() if held == 1}
        self.length_counts = Counter(len(reference) for reference in references)
        self.lengths = sorted(self.length_counts)  # distinct reference lengths, ascending

    def scores(self, hypothesis: Tokens, orders: Iterable[int]) -> list[float]:
        """BLEU-n of one hypothesis for each n in ``orders``, sharing the n-gram counts between orders."""
        orders = list(orders)
        _check_orders(orders, self.max_order)
        matches, totals = self._clipped(hypothesis, max(orders), left_out=False)
        closest = self._closest_length(len(hypothesis))
        return [bleu_from_counts(matches, totals, len(hypothesis), closest, n) for n in orders]

    def scores_left_out(self, index: int, orders: Iterable[int]) -> list[float]:
        """BLEU-n of ``references[index]`` against all the other references, for each n in ``orders``."""
        if len(self.references) < 2:
            raise DataError("Scoring a sentence against the others needs at least 2 sentences.")
        orders = list(orders)
        _check_orders(orders, self.max_order)
        hypothesis = self.references[index]
        matches, totals = self._clipped(hypothesis, max(orders), left_out=True)
        closest = self._closest_length(len(hypothesis), left_out=len(hypothesis))
        return [bleu_from_counts(matches, totals, len(hypothesis), closest, n) for n in orders]

    def _clipped(self, hypothesis: Tokens, max_order: int, left_out: bool) -> tuple[list[int], list[int]]:
        """Clipped match counts and max(1, n-gram totals) of orders 1..max_order.

        ``left_out``: the hypothesis is one of the references; clip by the other references only.
        """
        matches, totals = [], []
        for n in range(1, max_order + 1):
            counts = ngram_counts(hypothesis, n)
            matched = 0
            for gram, count in counts.items():
                clip = self.largest.get(gram, 0)
                if left_out and count == clip:
                    # The hypothesis holds the largest count: the others reach it only if tied.
                    clip = self.largest_of_others.get(gram, clip)
                matched += min(count, clip)
            matches.append(matched)
            totals.append(max(1, sum(counts.values())))
        return matches, totals

    def _closest_length(self, hypothesis_length: int, left_out: int | None = None) -> int:
        """The reference length closest to the hypothesis length, the shorter one on a tie.

        ``left_out``: the length of one reference to ignore (the hypothesis itself, for self-BLEU).
        """
        def present(length: int) -> bool:
            return self.length_counts[length] > (length == left_out)

        above = bisect_left(self.lengths, hypothesis_length)  # first distinct length ≥ c
        below = above - 1
        # Leaving one sentence out empties at most one length, so each walk takes at most one extra step.
        while above < len(self.lengths) and not present(self.lengths[above]):
            above += 1
        while below >= 0 and not present(self.lengths[below]):
            below -= 1
        candidates = [self.lengths[i] for i in (below, above) if 0 <= i < len(self.lengths)]
        return min(candidates, key=lambda length: (abs(length - hypothesis_length), length))


def corpus_scores(hypotheses: Sequence[Tokens], references: Sequence[Tokens] | BleuReference,
                  orders: Sequence[int] = (2, 3, 4, 5)) -> dict[str, float]:
    """Texygen BLEU: ``{"bleu2": mean over hypotheses of BLEU-2 against all references, ...}``.

    ``references`` may be a ``BleuReference`` built once and reused across evaluations.
    """
    if not hypotheses:
        raise DataError("BLEU needs at least one generated sentence; generate some before evaluating.")
    _check_orders(orders, max(orders, default=1))
    reference = references if isinstance(references, BleuReference) else BleuReference(references, max(orders))
    return _mean_by_order([reference.scores(h, orders) for h in hypotheses], orders, "bleu")


def self_bleu(sentences: Sequence[Tokens], orders: Sequence[int] = (2, 3, 4, 5),
              sample: int | None = TEXYGEN_SELF_BLEU_SAMPLE) -> dict[str, float]:
    """Texygen self-BLEU: ``{"self_bleu2": ..., ...}``, the mean BLEU-n of each of the first ``sample``
    sentences (all when None) against the other sentences of that pool, itself left out. Lower means
    more diverse samples.
    """
    if sample is not None and sample < 2:
        raise ConfigError(f"The self-BLEU sample must hold at least 2 sentences, got {sample}.")
    _check_orders(orders, max(orders, default=1))
    pool = sentences if sample is None else sentences[:sample]
    if len(pool) < 2:
        raise DataError(f"Self-BLEU needs at least 2 generated sentences, got {len(pool)}; generate more.")
    reference = BleuReference(pool, max(orders))
    return _mean_by_order([reference.scores_left_out(i, orders) for i in range(len(pool))], orders, "self_bleu")


def _mean_by_order(rows: list[list[float]], orders: Sequence[int], prefix: str) -> dict[str, float]:
    """Rows of per-sentence scores (one column per order) → {prefix + order: mean over the rows}."""
    return {f"{prefix}{n}": math.fsum(column) / len(rows) for n, column in zip(orders, zip(*rows))}


def _check_orders(orders: Sequence[int], max_order: int) -> None:
    if not orders or any(not 1 <= n <= max_order for n in orders):
        raise ConfigError(f"BLEU orders must be whole numbers from 1 to {max_order}, got {list(orders)}.")
