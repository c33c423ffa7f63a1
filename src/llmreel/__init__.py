"""llmreel: record real LLM API traffic once; replay it deterministically, offline, fast.

In-process: :func:`use_cassette` routes every httpx and httpx2 client (the
openai, anthropic and ollama SDKs) through a cassette. Out of process:
``llmreel serve`` stands in for the model server. Both use one engine, so a
cassette recorded one way replays the other.
"""

from llmreel._version import __version__
from llmreel.engine import Engine, Recorder, Stats
from llmreel.engine.modes import Mode
from llmreel.exceptions import (
    CassetteNotFoundError,
    ConfigError,
    FaultSpecError,
    FormatVersionError,
    InvalidCassetteNameError,
    LlmreelError,
    NetworkBlockedError,
    OutsideDirError,
    RecordingError,
    RecordingFileError,
    ReplayMissError,
    SecretLeakError,
    SequenceExhaustedError,
    StaleRecordingError,
    StaleRecordingWarning,
    UnsupportedRecordingError,
    UpstreamError,
    WriteFailedError,
)
from llmreel.formats import load_file
from llmreel.intercept.httpx_transports import (
    AsyncHttpx2Transport,
    AsyncHttpxTransport,
    Httpx2Transport,
    HttpxTransport,
)
from llmreel.intercept.use_cassette import CassetteSession, open_engine, use_cassette
from llmreel.matching import Matcher, Normalizer, parse_normalizer
from llmreel.model.interaction import Event, Interaction, Request, Response
from llmreel.store import Cassette

__all__ = [
    "AsyncHttpx2Transport",
    "AsyncHttpxTransport",
    "Cassette",
    "CassetteNotFoundError",
    "CassetteSession",
    "ConfigError",
    "Engine",
    "Event",
    "FaultSpecError",
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
    "OutsideDirError",
    "Recorder",
    "RecordingError",
    "RecordingFileError",
    "ReplayMissError",
    "Request",
    "Response",
    "SecretLeakError",
    "SequenceExhaustedError",
    "StaleRecordingError",
    "StaleRecordingWarning",
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
