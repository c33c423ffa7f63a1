"""Request identity and miss explanations.

:mod:`.canonical` gives one byte form to equal bodies; :mod:`.normalizers`
holds the named, explicit rewrites (``ignore:``, ``drop:``, ``round:``,
``redact:``); :mod:`.rules` the canonical rules (per endpoint, the forms a
provider treats as one request); :mod:`.matcher` computes the key;
:mod:`.diagnosis` explains a miss with a bounded diff and ranks the closest
recordings.
"""

from llmreel.matching.canonical import canonical_json
from llmreel.matching.diagnosis import body_diff, format_similarity, similarity
from llmreel.matching.matcher import DEFAULT_IGNORED_QUERY, Matcher
from llmreel.matching.normalizers import Normalizer, parse_normalizer
from llmreel.matching.rules import RULES, CanonicalRules, Rule, parse_rule_names

__all__ = [
    "DEFAULT_IGNORED_QUERY",
    "RULES",
    "CanonicalRules",
    "Matcher",
    "Normalizer",
    "Rule",
    "body_diff",
    "canonical_json",
    "format_similarity",
    "parse_normalizer",
    "parse_rule_names",
    "similarity",
]
