"""llmreel: record real LLM API traffic once; replay it deterministically, offline, fast.

In-process: :func:`use_cassette` routes every httpx and httpx2 client (the
openai, anthropic and ollama SDKs) through a cassette. Out of process:
``llmreel serve`` stands in for the model server. Both use one engine, so a
cassette recorded one way replays the other.
"""

from llmreel.context import CassetteSession, open_engine, use_cassette
from llmreel.engine import Engine, Recorder, Stats
from llmreel.exceptions import (
    CassetteNotFoundError,
    ConfigError,
    FormatVersionError,
    InvalidCassetteNameError,
    LlmreelError,
    NetworkBlockedError,
    RecordingError,
    RecordingFileError,
    ReplayMissError,
    SecretLeakError,
    SequenceExhaustedError,
    UnsupportedRecordingError,
    UpstreamError,
    WriteFailedError,
)
from llmreel.formats import load_file
from llmreel.interaction import Event, Interaction, Request, Response
from llmreel.matching import Matcher, Normalizer, parse_normalizer
from llmreel.modes import Mode
from llmreel.store import Cassette
from llmreel.transport import (
    AsyncHttpx2Transport,
    AsyncHttpxTransport,
    Httpx2Transport,
    HttpxTransport,
)

__version__ = "0.1.0"

__all__ = [
    "AsyncHttpx2Transport",
    "AsyncHttpxTransport",
    "Cassette",
    "CassetteNotFoundError",
    "CassetteSession",
    "ConfigError",
    "Engine",
    "Event",
    "FormatVersionError",
    "Httpx2Transport",
    "HttpxTransport",
    "Interaction",
    "InvalidCassetteNameError",
    "LlmreelError",
    "Matcher",
    "Mode",
    "NetworkBlockedError",
    "Normalizer",
    "Recorder",
    "RecordingError",
    "RecordingFileError",
    "ReplayMissError",
    "Request",
    "Response",
    "SecretLeakError",
    "SequenceExhaustedError",
    "Stats",
    "UnsupportedRecordingError",
    "UpstreamError",
    "WriteFailedError",
    "__version__",
    "load_file",
    "open_engine",
    "parse_normalizer",
    "use_cassette",
]
