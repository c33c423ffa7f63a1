"""Request identity and miss explanations.

:mod:`.canonical` gives one byte form to equal bodies; :mod:`.normalizers`
holds the named, explicit rewrites (``ignore:``, ``drop:``, ``round:``,
``redact:``); :mod:`.matcher` computes the key; :mod:`.diagnosis` explains a
miss with a body diff and ranks the closest recordings.
"""

from llmreel.matching.canonical import canonical_json
from llmreel.matching.diagnosis import body_diff, similarity
from llmreel.matching.matcher import DEFAULT_IGNORED_QUERY, Matcher
from llmreel.matching.normalizers import Normalizer, parse_normalizer

__all__ = [
    "DEFAULT_IGNORED_QUERY",
    "Matcher",
    "Normalizer",
    "body_diff",
    "canonical_json",
    "parse_normalizer",
    "similarity",
]
