"""The engine: mode + store + matcher; it decides, for each request, replay or forward-and-tee.

:class:`Engine` decides (:mod:`.engine`), :class:`Recorder` tees a forwarded
response into a recording (:mod:`.recorder`), :func:`explain_miss` says why a
request missed (:mod:`.misses`); :class:`Mode`, :class:`Stats` and
:func:`parse_pace` are the settings and counters around them; the :class:`Journal`
says what happened to each request, and a :class:`Playback` plays one replay.
"""

from llmreel.engine.engine import Decider, Decision, Engine, Exhausted
from llmreel.engine.journal import Journal, JournalEntry, JournalLog, PendingEntry
from llmreel.engine.misses import explain_miss
from llmreel.engine.modes import Mode
from llmreel.engine.pacing import parse_pace
from llmreel.engine.playback import Playback
from llmreel.engine.recorder import Recorder, RecordingSink
from llmreel.engine.stats import Stats

__all__ = [
    "Decider",
    "Decision",
    "Engine",
    "Exhausted",
    "Journal",
    "JournalEntry",
    "JournalLog",
    "Mode",
    "PendingEntry",
    "Playback",
    "Recorder",
    "RecordingSink",
    "Stats",
    "explain_miss",
    "parse_pace",
]
