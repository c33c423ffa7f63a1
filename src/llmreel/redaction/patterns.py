"""The shapes of secrets, and the two combined patterns that find them in one pass.

:data:`PATTERNS` are the exact per-kind patterns: they decide whether a candidate is
a secret and name its kind. Running ~30 of them over every string of every
recording is what made scanning slow, so two *gates* run first, each one compiled
alternation read once over a whole text in C:

- :data:`TEXT_GATE` for decoded text (a JSON string's value, a stream event): every
  exact pattern without its look-behind, so any text an exact pattern matches, the
  gate matches too;
- :data:`JSON_GATE` for JSON *as written* (a recording file, a dumped request): the
  same shapes, loosened so that JSON escaping cannot hide them (``\\n`` before a
  key, ``\\"`` around a field, several levels of JSON inside JSON, ``\\uXXXX``
  widening a URL), plus the field form ``"...api_key...": "<16+ characters>"``.

A gate only says "look closer": a text with no gate hit holds no secret; a text
with one is scanned exactly, as before, so findings do not change. Both gates are
supersets of the exact patterns; the tests prove it on every secret shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import re2

__all__ = [
    "CREDENTIAL_FIELD_IN_TEXT",
    "CREDENTIAL_NAME",
    "JSON_GATE",
    "PATTERNS",
    "PATTERN_GATES",
    "TEXT_GATE",
    "mixed",
    "token_like",
]

# Each pattern is anchored on a provider's documented prefix so ordinary text
# (and the base64 embeddings in responses) does not trip it. The look-behinds
# keep a prefix from matching inside a longer word ("task-management-..." is not
# an OpenAI key). Patterns marked ``mixed`` are generic shapes that only count
# when the candidate holds both letters and digits, as real credentials do and
# prose ("bearer instrument/certificate") does not.
# A JSON escape in front (``\n``, ``\u00a0``: a stream event's data is JSON inside a
# string) separates words too.
_ESCAPED = r"(?<=\\[nrtfb])|(?<=\\u[0-9a-fA-F]{4})"
_B = rf"(?:(?<![A-Za-z0-9_\-])|{_ESCAPED})"
_AWS_IDS = r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ABIA|ACCA|ANPA|ANVA|APKA|AIPA)"
# (kind, body, mixed, look-behind); the look-behind is left out of the gates.
_TABLE: tuple[tuple[str, str, bool, str], ...] = (
    ("Anthropic API key", r"sk-ant-(?:api|admin|oat|sid)\d\d-[A-Za-z0-9_\-]{20,}", False, _B),
    ("OpenAI-style API key", r"sk-(?:proj-|svcacct-|admin-|or-v1-)?[A-Za-z0-9_\-]{20,}", True, _B),
    ("Google API key", r"AIza[0-9A-Za-z_\-]{35}", False, _B),
    ("Google OAuth token", r"ya29\.[0-9A-Za-z_\-]{20,}", False, _B),
    (
        "AWS access key id",
        _AWS_IDS + r"[0-9A-Z]{16}(?![0-9A-Z])",
        False,
        rf"(?:(?<![A-Za-z0-9])|{_ESCAPED})",
    ),
    (
        "AWS secret access key",
        r"(?i:aws.{0,20}?secret.{0,20}?['\"=:\s]{1,4}([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=]))",
        True,
        "",
    ),
    ("GitHub token", r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}", False, _B),
    ("GitHub fine-grained token", r"github_pat_[A-Za-z0-9_]{60,}", False, _B),
    ("GitLab token", r"glpat-[A-Za-z0-9_\-]{20,}", False, _B),
    ("Hugging Face token", r"hf_[A-Za-z0-9]{30,}", False, _B),
    ("Slack token", r"xox[abeoprsc]-[A-Za-z0-9\-]{10,}", False, _B),
    (
        "Slack webhook URL",
        r"hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]{16,}",
        False,
        "",
    ),
    ("Stripe key", r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}", False, _B),
    ("Stripe webhook secret", r"whsec_[A-Za-z0-9+/=]{24,}", False, _B),
    ("Groq API key", r"gsk_[A-Za-z0-9]{40,}", False, _B),
    ("Replicate token", r"r8_[A-Za-z0-9]{30,}", False, _B),
    ("xAI API key", r"xai-[A-Za-z0-9]{40,}", False, _B),
    ("Perplexity API key", r"pplx-[A-Za-z0-9]{40,}", False, _B),
    ("npm token", r"npm_[A-Za-z0-9]{36,}", False, _B),
    ("PyPI token", r"pypi-AgE[A-Za-z0-9_\-]{50,}", False, _B),
    ("SendGrid API key", r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}", False, ""),
    ("Azure account key", r"AccountKey=[A-Za-z0-9+/]{40,}={0,2}", False, ""),
    (
        "JSON Web Token",
        r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        False,
        "",
    ),
    ("bearer token", r"(?i:\bbearer\s+([A-Za-z0-9_\-\.=:/+~]{16,}))", True, ""),
    (
        "basic auth credentials",
        r"(?i:\bauthorization\W{1,4}basic\s+([A-Za-z0-9+/]{12,}={0,2}))",
        False,
        "",
    ),
    (
        "password in a URL",
        r"\b[a-z][a-z0-9+.\-]{1,15}://[^\s/:@\"'<>]{1,64}:([^\s/@\"'<>]{3,128})@[\w.\-]+",
        False,
        "",
    ),
    (
        "private key",
        r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |ENCRYPTED |PGP )?PRIVATE KEY",
        False,
        "",
    ),
)
PATTERNS: tuple[tuple[str, re.Pattern[str], bool], ...] = tuple(
    (kind, re.compile(behind + body.replace(r"\b", rf"(?:\b|{_ESCAPED})")), is_mixed)
    for kind, body, is_mixed, behind in _TABLE
)

# Field names whose value is a credential whatever its shape (Mistral, Cohere and
# Together keys have no prefix to recognise them by). Only string values that look
# like a token count: long, no spaces, letters and digits.
_NAME = (
    r"secret|passw(?:or)?d|api[_\-]?key|access[_\-]?key|private[_\-]?key|"
    r"(?:auth|access|refresh|id|session|bearer|api)[_\-]?token|credential"
)
CREDENTIAL_NAME = re.compile(f"(?i:{_NAME})")
# The same inside text (stream events, raw bodies, logs): "name": "value", name=value,
# also with the escaped quotes of JSON inside a JSON string.
_FIELD_TAIL = r"[A-Za-z0-9_\-]{0,20})(?:\\?[\"'])?\s*[:=]\s*(?:\\?[\"'])?([^\"'\s\\,;&<>]{16,})"
CREDENTIAL_FIELD_IN_TEXT = re.compile(rf"([A-Za-z0-9_\-]{{0,40}}?(?i:{_NAME}){_FIELD_TAIL}")


def mixed(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def token_like(value: str) -> bool:
    return len(value) >= 16 and not any(c.isspace() for c in value) and mixed(value)


# --------------------------------------------------------------------------- the gates

# The gates are RE2 patterns (google-re2): one alternation over ~30 shapes runs at
# ~150 MB/s in RE2's automaton, where Python's backtracking ``re`` tries every branch at
# every position (~1 MB/s for the same alternation). RE2 has no look-arounds and its
# ``\s``, ``\d``, ``\w`` are ASCII, so the gates leave the look-arounds out and widen
# the classes to what Python's Unicode classes match: supersets, never misses.
_S_CLASS = r"\s\pZ\x{1c}-\x{1f}\x{85}"  # what Python's \s matches in a str
_S = f"[{_S_CLASS}]"
_D = r"\p{Nd}"  # Python's \d
_NAME_WORDS = (
    r"secret|passw(?:or)?d|api[_\-]?key|access[_\-]?key|private[_\-]?key|"
    r"(?:auth|access|refresh|id|session|bearer|api)[_\-]?token|credential"
)


def _for_re2(body: str) -> str:
    """A Python pattern as an RE2 gate: look-arounds out, classes widened to Unicode."""
    body = body.replace("(?![0-9A-Z])", "").replace("(?![A-Za-z0-9/+=])", "")
    body = body.replace(r"\b", "")  # a word boundary only narrows a match
    # Unbounded runs instead of long counted ones keep RE2's automaton small.
    body = body.replace(r"@[\w.\-]+", "@").replace("{1,64}", "+").replace("{3,128}", "+")
    out, in_class, i = [], False, 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            esc = body[i : i + 2]
            if esc == r"\s":
                out.append(_S_CLASS if in_class else _S)
            elif esc == r"\d":
                out.append(r"\p{Nd}" if in_class else _D)
            else:
                out.append(esc)
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    return "".join(out)


def _text_alternatives() -> list[str]:
    """Every exact pattern as RE2 can run it on decoded text, look-arounds left out."""
    out = [_for_re2(body) for _, body, _, _ in _TABLE]
    # The field form, anchored on the name word: the 0-40 name characters in front of
    # it only serve the message, so the gate does not pay for them.
    out.append(
        _for_re2(
            rf"(?i:{_NAME_WORDS})[A-Za-z0-9_\-]{{0,20}}(?:\\?[\"'])?\s*[:=]\s*(?:\\?[\"'])?"
            r"[^\"'\s\\,;&<>]{16}"
        )
    )
    return out


# JSON as written. Escapes turn one character into two (``\n``, ``\"``, ``\/``) or six
# (``\u00e9``) and nest (``\\\"`` is a quote two levels down), so: whitespace may be an
# escape, quotes may carry any number of backslashes, and the lengths of free-text
# runs (URL user, the gap between "aws" and "secret") are unbounded here.
# Classes that hold ``/`` also take ``\`` (a writer may escape the slash).
_WS = rf"(?:{_S}|\\[nrtfb]|\\u[0-9a-fA-F]{{4}})"
_Q = r"(?:\\*[\"'])"
_JSON_ALTERNATIVES = (
    r"sk-ant-",
    r"sk-[A-Za-z0-9_\-]{20}",
    r"AIza[0-9A-Za-z_\-]{35}",
    r"ya29\.[0-9A-Za-z_\-]{20}",
    _AWS_IDS + r"[0-9A-Z]{16}",
    rf"(?i:aws.*secret.*(?:['\"=:\\]|{_WS})[A-Za-z0-9/+=\\]{{40}})",
    r"gh[pousr]_[A-Za-z0-9]{36}",
    r"github_pat_",
    r"glpat-[A-Za-z0-9_\-]{20}",
    r"hf_[A-Za-z0-9]{30}",
    r"xox[abeoprsc]-[A-Za-z0-9\-]{10}",
    r"hooks\.slack\.com",
    r"[sr]k_(?:live|test)_",
    r"whsec_",
    r"gsk_[A-Za-z0-9]{40}",
    r"r8_[A-Za-z0-9]{30}",
    r"xai-[A-Za-z0-9]{40}",
    r"pplx-[A-Za-z0-9]{40}",
    r"npm_[A-Za-z0-9]{36}",
    r"pypi-AgE",
    r"SG\.[A-Za-z0-9_\-]{22}\.",
    r"AccountKey=",
    r"eyJ[A-Za-z0-9_\-]{8}",
    rf"(?i:bearer{_WS}+[A-Za-z0-9_\-\.=:/+~\\]{{16}})",
    rf"(?i:authorization(?:\W|{_WS}){{1,12}}basic{_WS}+[A-Za-z0-9+/\\]{{12}})",
    r"://[^\s/:@\"'<>]+:[^\s/@\"'<>]{3,}@",
    r"-----BEGIN ",
    # Names in text, at any depth of JSON-in-JSON quoting.
    rf"(?i:{_NAME_WORDS})[A-Za-z0-9_\-]{{0,20}}{_Q}?{_WS}*[:=]{_WS}*{_Q}?"
    r"(?:[^\"'\s\\,;&<>]|\\/|\\u[0-9a-fA-F]{4}){16}",
    # A JSON field whose name holds a credential word: the rest of the name, its closing
    # quote, then a string value of 16+ units (an escape is one unit).
    rf"(?i:{_NAME_WORDS})(?:[^\"\\]|\\.)*\"\s*:\s*\"(?:[^\"\\\s]|\\.){{16}}",
)


def _compile(alternatives: Iterable[str]) -> re2._Regexp:
    options = re2.Options()
    options.max_mem = 64 << 20  # the counted repetitions need more than the 8 MB default
    return re2.compile("|".join(alternatives), options)


TEXT_GATE = _compile(_text_alternatives())
JSON_GATE = _compile(_JSON_ALTERNATIVES)
# One gate per exact pattern (the field form last): a text the combined gate flagged
# runs only the exact patterns whose own gate matches it.
PATTERN_GATES = tuple(_compile([alt]) for alt in _text_alternatives())
