"""BLEU / self-BLEU against hand-worked NLTK arithmetic, the NLTK edge cases, and fast path = slow path."""

from __future__ import annotations

import math
import random

import pytest

from genlab.errors import ConfigError, DataError
from genlab.metrics.bleu import BleuReference, bleu_from_counts, corpus_scores, ngram_counts, self_bleu


def sentence_bleu(hypothesis: list[str], references: list[list[str]], order: int) -> float:
    """NLTK's ``sentence_bleu(references, hypothesis, (1/order,) * order, method1 smoothing)``, written
    out: the slow path (every reference is counted for every hypothesis) that ``BleuReference`` must match."""
    matches, totals = [], []
    for n in range(1, order + 1):
        counts = ngram_counts(hypothesis, n)
        reference_counts = [ngram_counts(reference, n) for reference in references]
        matches.append(sum(min(count, max(ref[gram] for ref in reference_counts)) for gram, count in counts.items()))
        totals.append(max(1, sum(counts.values())))
    closest = min((len(reference) for reference in references),
                  key=lambda length: (abs(length - len(hypothesis)), length))
    return bleu_from_counts(matches, totals, len(hypothesis), closest, order)


def words(*sentences: str) -> list[list[str]]:
    return [s.split() for s in sentences]


def both_paths(hypothesis: str, references: list[str], order: int) -> tuple[float, float]:
    """(slow sentence_bleu, fast BleuReference) for one hypothesis."""
    hyp, refs = hypothesis.split(), words(*references)
    return sentence_bleu(hyp, refs, order), BleuReference(refs).scores(hyp, [order])[0]


def test_precisions_and_geometric_mean_by_hand():
    refs = ["the cat sat on the mat", "there is a cat on the mat"]
    # unigrams of the hypothesis: the cat sat on a mat, each found in some reference → p1 = 6/6.
    # bigrams: the-cat, cat-sat, sat-on match (reference 1); on-a, a-mat match nowhere → p2 = 3/5.
    # trigrams: the-cat-sat, cat-sat-on match; sat-on-a, on-a-mat do not → p3 = 2/4.
    # c = 6, closest r = 6 → BP = exp(1 - 6/6) = 1.
    for score in both_paths("the cat sat on a mat", refs, 2):
        assert score == pytest.approx(math.sqrt(1 * 3 / 5), rel=1e-12)
    for score in both_paths("the cat sat on a mat", refs, 3):
        assert score == pytest.approx((1 * 3 / 5 * 2 / 4) ** (1 / 3), rel=1e-12)


def test_clipping_smoothing_and_brevity_penalty_by_hand():
    # 'a' occurs 3 times in the hypothesis but once in the reference → p1 = 1/3.
    # Bigrams a-a (x2) match nothing → method1: p2 = 0.1 / 2.
    # c = 3 < r = 4 → BP = exp(1 - 4/3).
    for score in both_paths("a a a", ["a b c d"], 2):
        assert score == pytest.approx(math.exp(1 - 4 / 3) * math.sqrt(1 / 3 * 0.1 / 2), rel=1e-12)


def test_clip_is_the_largest_count_in_one_reference_not_the_sum():
    # 'a' occurs once in each reference: the clip is 1, not 2 → p1 = 1/2; bigram a-a: p2 = 0.1/1.
    # c = 2 = r → BP = 1.
    for score in both_paths("a a", ["a b", "a c"], 2):
        assert score == pytest.approx(math.sqrt(1 / 2 * 0.1), rel=1e-12)


def test_closest_reference_length_tie_takes_the_shorter():
    # References of length 5 and 7 are both 1 away from c = 6: r = 5 → c > r → BP = 1
    # (taking 7 would give exp(1 - 7/6)). p1 = 5/6 (q unmatched), p2 = 4/5 (v-q unmatched).
    for score in both_paths("x y z w v q", ["x y z w v", "x y z w v u t"], 2):
        assert score == pytest.approx(math.sqrt(5 / 6 * 4 / 5), rel=1e-12)


def test_nltk_edge_cases():
    # Hypothesis shorter than n: no trigram, so p3 = 0.1 / max(1, 0) = 0.1; p1 = p2 = 1.
    # c = 2, r = 3 → BP = exp(1 - 3/2).
    for score in both_paths("a b", ["a b c"], 3):
        assert score == pytest.approx(math.exp(-0.5) * 0.1 ** (1 / 3), rel=1e-12)
    # No unigram matches at all: 0 (even though smoothing would make every precision positive).
    assert both_paths("x y z", ["a b c"], 2) == (0.0, 0.0)
    # The empty hypothesis: 0.
    assert both_paths("", ["a b c"], 4) == (0.0, 0.0)
    # A perfect match is 1 at every order.
    assert both_paths("a b c d e", ["a b c d e", "q"], 5) == (1.0, 1.0)


def test_fast_path_equals_slow_path_on_random_sentences():
    rng = random.Random(0)
    for _ in range(40):
        vocab = "abcdef"[: rng.randint(2, 6)]
        refs = [[rng.choice(vocab) for _ in range(rng.randint(0, 9))] for _ in range(rng.randint(1, 6))]
        reference = BleuReference(refs)
        for _ in range(5):
            hyp = [rng.choice(vocab) for _ in range(rng.randint(0, 9))]
            fast = reference.scores(hyp, range(1, 6))
            assert fast == [sentence_bleu(hyp, refs, n) for n in range(1, 6)]


def test_left_out_scores_equal_the_slow_path_against_the_others():
    rng = random.Random(1)
    for _ in range(30):
        vocab = "abcd"[: rng.randint(2, 4)]
        pool = [[rng.choice(vocab) for _ in range(rng.randint(0, 8))] for _ in range(rng.randint(2, 7))]
        reference = BleuReference(pool)
        for i, hyp in enumerate(pool):
            others = pool[:i] + pool[i + 1:]
            assert reference.scores_left_out(i, range(1, 6)) == [sentence_bleu(hyp, others, n) for n in range(1, 6)]


def test_corpus_scores_are_the_mean_over_hypotheses():
    refs = words("the cat sat on the mat", "there is a cat on the mat")
    hyps = words("the cat sat on a mat", "x y z")
    # Hypothesis 1 as in the hand-worked test; hypothesis 2 matches no unigram → 0.
    scores = corpus_scores(hyps, refs, orders=(2, 3))
    assert scores == pytest.approx({"bleu2": math.sqrt(3 / 5) / 2, "bleu3": (3 / 10) ** (1 / 3) / 2}, rel=1e-12)
    assert corpus_scores(hyps, BleuReference(refs), orders=(2, 3)) == scores


def test_self_bleu_by_hand_leaves_the_sentence_itself_out():
    pool = words("a a a b", "a a b", "b c")
    # s0 = a a a b vs {a a b, b c}: 'a' clipped to 2 (its own 3 left out), b 1 → p1 = 3/4;
    #   bigrams a-a (x2) clipped to 1, a-b 1 → p2 = 2/3; c = 4 > r = 3 → BP = 1.
    # s1 = a a b vs {a a a b, b c}: p1 = 3/3, p2 = 2/2; lengths 4 and 2 tie at distance 1 → r = 2, BP = 1.
    # s2 = b c vs {a a a b, a a b}: p1 = 1/2, p2 = 0.1/1; r = 3 → BP = exp(1 - 3/2).
    expected = (math.sqrt(3 / 4 * 2 / 3) + 1 + math.exp(-0.5) * math.sqrt(1 / 2 * 0.1)) / 3
    assert self_bleu(pool, orders=(2,))["self_bleu2"] == pytest.approx(expected, rel=1e-12)


def test_self_bleu_of_identical_vs_distinct_sentences():
    same = words(*["a man rides a horse"] * 10)
    assert self_bleu(same) == pytest.approx({f"self_bleu{n}": 1.0 for n in (2, 3, 4, 5)})
    # Sentences sharing no word: each one, scored with itself left out, matches no unigram. Had it
    # stayed among its own references every score would be 1.
    distinct = [[f"w{i}_{j}" for j in range(5)] for i in range(10)]
    assert self_bleu(distinct) == {f"self_bleu{n}": 0.0 for n in (2, 3, 4, 5)}


def test_self_bleu_pools_the_first_sample_sentences():
    # Two identical sentences first, then ones sharing nothing: the first 2 alone score 1.
    pool = words("a b c", "a b c", "d e f", "g h i")
    assert self_bleu(pool, orders=(2,), sample=2) == {"self_bleu2": 1.0}
    assert self_bleu(pool, orders=(2,), sample=None) == {"self_bleu2": 0.5}


def test_bad_input_is_refused():
    with pytest.raises(DataError, match="at least one reference"):
        BleuReference([])
    with pytest.raises(DataError, match="at least one generated sentence"):
        corpus_scores([], words("a b"))
    with pytest.raises(DataError, match="at least 2 generated sentences"):
        self_bleu(words("a b"))
    with pytest.raises(ConfigError, match="orders must be whole numbers from 1 to 3"):
        BleuReference(words("a b"), max_order=3).scores(["a"], [4])
    with pytest.raises(ConfigError, match="orders"):
        corpus_scores(words("a b"), words("a b"), orders=(0, 2))
