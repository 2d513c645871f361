"""The short phrases a text offers as check terms: 1–3-word n-grams, none made only of function
words, no single word under 4 characters. A probe that allowed function words kept the chance
phrase "to a" (10 of 10 failing items)."""

from __future__ import annotations

from collections.abc import Sequence

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "too",
        "was",
        "were",
        "what",
        "when",
        "which",
        "while",
        "who",
        "will",
        "with",
        "without",
        "not",
        "no",
        "yes",
        "you",
        "your",
        "we",
        "our",
        "us",
        "i",
        "me",
        "my",
        "he",
        "she",
        "his",
        "her",
        "should",
        "must",
        "would",
        "could",
        "may",
        "might",
        "also",
        "only",
        "just",
        "more",
        "most",
        "very",
        "all",
        "any",
        "each",
        "every",
        "some",
        "such",
        "own",
        "same",
        "other",
        "here",
        "how",
        "why",
        "where",
        "about",
        "above",
        "after",
        "again",
        "against",
        "before",
        "below",
        "between",
        "both",
        "during",
        "further",
        "once",
        "out",
        "over",
        "under",
        "until",
        "up",
        "down",
        "off",
    ]
)


def phrases(words: Sequence[str]) -> set[str]:
    """The 1–3-word terms of ``words`` (lowercased, in text order) that could name a rule."""
    terms: set[str] = set()
    for n in (1, 2, 3):
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]
            if all(w in STOPWORDS for w in gram):
                continue
            if n == 1 and (gram[0] in STOPWORDS or len(gram[0]) < 4):
                continue
            terms.add(" ".join(gram))
    return terms
