"""Comparing a mapping's results with ``simple``'s, and the invariants of
workflows whose exact output depends on arrival order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from ..runtime.result import Outputs

__all__ = [
    "INVARIANTS",
    "assert_same_multisets",
    "check_even_odd_pairs",
    "check_global_sequence",
    "check_word_counts",
    "freeze",
    "multiset",
]


def freeze(value: Any) -> Any:
    """A hashable, order-preserving stand-in for ``value`` (lists → tuples)."""
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return ("__dict__", tuple(sorted((repr(k), freeze(v)) for k, v in value.items())))
    if isinstance(value, (set, frozenset)):
        return ("__set__", tuple(sorted(repr(v) for v in value)))
    return value


def multiset(values: list[Any]) -> Counter[Any]:
    return Counter(freeze(v) for v in values)


def assert_same_multisets(
    actual: Outputs, expected: Outputs, multiplicity: Mapping[str, int] | None = None
) -> None:
    """Every ``(pe, output)`` has the same multiset of values in both results.

    ``multiplicity[pe]`` multiplies the expected values of that PE (broadcast).
    """
    factors = multiplicity or {}
    keys = {(pe, out) for pe, outs in actual.items() for out in outs} | {
        (pe, out) for pe, outs in expected.items() for out in outs
    }
    problems: list[str] = []
    for pe_id, output in sorted(keys):
        got = multiset(actual.get(pe_id, {}).get(output, []))
        want = multiset(expected.get(pe_id, {}).get(output, []))
        factor = factors.get(pe_id, 1)
        if factor != 1:
            want = Counter({value: count * factor for value, count in want.items()})
        if got != want:
            missing = want - got
            extra = got - want
            problems.append(
                f"{pe_id}.{output}: {sum(got.values())} values, expected {sum(want.values())}; "
                f"missing {_sample(missing)}; unexpected {_sample(extra)}"
            )
    if problems:
        raise AssertionError("results differ from simple:\n  " + "\n  ".join(problems))


def _sample(counter: Counter[Any], limit: int = 5) -> str:
    if not counter:
        return "none"
    items = [f"{value!r} x{count}" for value, count in list(counter.items())[:limit]]
    more = "" if len(counter) <= limit else f" and {len(counter) - limit} more"
    return ", ".join(items) + more


def _only_output(outputs: Outputs, prefix: str, output: str) -> list[Any]:
    found = [
        outs[output] for pe, outs in outputs.items() if pe.startswith(prefix) and output in outs
    ]
    if len(found) != 1:
        raise AssertionError(f"expected one {prefix}*.{output} result, found {len(found)}")
    return found[0]


def check_word_counts(outputs: Outputs, iterations: int) -> None:
    """Per word the counts are exactly 1..c_w (one consistent state per word)."""
    pairs = _only_output(outputs, "WordCounter", "output")
    by_word: dict[str, list[int]] = {}
    for word, count in pairs:
        by_word.setdefault(word, []).append(count)
    for word, counts in by_word.items():
        if sorted(counts) != list(range(1, len(counts) + 1)):
            raise AssertionError(
                f"word {word!r} was counted inconsistently: {sorted(counts)} "
                "(its state was split across instances)"
            )
    if sum(len(c) for c in by_word.values()) > iterations:
        raise AssertionError("more words counted than produced")


def check_global_sequence(outputs: Outputs, iterations: int) -> None:
    """One instance saw every item: the sequence numbers are exactly 1..N."""
    pairs = _only_output(outputs, "Sequencer", "output")
    if sorted(n for _, n in pairs) != list(range(1, iterations + 1)):
        raise AssertionError(f"'global' items were spread over instances: {sorted(pairs)}")
    if sorted(v for v, _ in pairs) != list(range(1, iterations + 1)):
        raise AssertionError("'global' items were lost or duplicated")


def check_even_odd_pairs(outputs: Outputs, iterations: int) -> None:
    """Every number is used once; pairs are (even, odd); leftovers are one kind."""
    pairs = _only_output(outputs, "EvenOddPairer", "pair")
    leftovers = outputs.get(next(pe for pe in outputs if pe.startswith("EvenOddPairer")), {}).get(
        "leftover", []
    )
    used = [v for pair in pairs for v in pair] + list(leftovers)
    if sorted(used) != list(range(1, iterations + 1)):
        raise AssertionError(f"numbers lost or duplicated: {sorted(used)}")
    if any(even % 2 != 0 or odd % 2 != 1 for even, odd in pairs):
        raise AssertionError(f"a pair is not (even, odd): {pairs}")
    if len({v % 2 for v in leftovers}) > 1:
        raise AssertionError(f"leftovers of both kinds remain unpaired: {leftovers}")


INVARIANTS: dict[str, Callable[[Outputs, int], None]] = {
    "word_counts": check_word_counts,
    "global_sequence": check_global_sequence,
    "even_odd_pairs": check_even_odd_pairs,
}
