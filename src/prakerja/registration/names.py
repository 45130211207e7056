"""Comparing a typed name with the registry's: case, spacing, punctuation, honorifics and academic
titles do not count (program.md §2: a typo can be fixed, a title is not a mismatch)."""

import re
import unicodedata

HONORIFICS = frozenset(
    [
        "h",
        "hj",
        "haji",
        "hajjah",
        "dr",
        "drs",
        "dra",
        "ir",
        "prof",
        "kh",
        "ust",
        "ustadz",
        "ustadzah",
        "bapak",
        "bpk",
        "ibu",
        "sdr",
        "sdri",
        "tn",
        "ny",
        "nn",
        "raden",
        "r",
        "rr",
        "mas",
        "mbak",
        "kak",
    ]
)
# Titles written after the name: "BUDI, S.KOM" or "BUDI S.Kom., M.M."
TITLE_AFTER = re.compile(
    r"\b(s|m|a|d)\.?\s?(kom|pd|e|h|t|si|sos|psi|ked|farm|ak|ag|ip|hum|kes|ag|md|mm|ba|sc)\b\.?",
    re.IGNORECASE,
)


def normalise_name(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).split(",")[0]
    text = TITLE_AFTER.sub(" ", text).lower()
    words = re.findall(r"[^\W\d_]+", text)
    while words and words[0] in HONORIFICS:
        words.pop(0)
    return " ".join(words)


def names_match(typed: str, registered: str) -> bool:
    return normalise_name(typed) == normalise_name(registered) != ""
