"""``llmreel serve``: a drop-in stand-in for the model server, for any client in any language.

Point a client's base URL at it (OpenAI: ``http://127.0.0.1:11434/v1``, Ollama:
``http://127.0.0.1:11434``, Anthropic: ``http://127.0.0.1:11434``). It answers
from the cassette under ``--dir`` (or the one named by the ``X-Llmreel-Cassette``
header), and in the record modes forwards to ``--upstream``, streaming every
chunk through as it arrives and writing the recording when the response ends.

- :mod:`.config`: :class:`ServerConfig`, validated settings;
- :mod:`.app`: the ASGI app (proxy + ``/_llmreel/`` control surface + lifespan);
- :mod:`.proxy`: reads a request and decides (hit, miss, forward);
- :mod:`.replay`, :mod:`.forward`: re-emitting a recording; forwarding and teeing;
- :mod:`.exchange`, :mod:`.lifecycle`: raw-ASGI plumbing; clean shutdown;
- :mod:`.upstream`: the httpx client towards the model server;
- :mod:`.state`: one engine per cassette, and counters;
- :mod:`.lists`: model lists made up from a cassette;
- :mod:`.logs`: one structured line per request;
- :mod:`.run`: uvicorn in the foreground or on a thread.
"""

from llmreel.server.app import LlmreelApp, create_app
from llmreel.server.config import (
    CASSETTE_HEADER,
    CONTROL_PREFIX,
    DEFAULT_HOST,
    DEFAULT_PORT,
    ServerConfig,
)
from llmreel.server.exchange import OUTCOME_HEADER
from llmreel.server.run import ServerThread, bind_socket, serve, serve_in_thread

__all__ = [
    "CASSETTE_HEADER",
    "CONTROL_PREFIX",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "OUTCOME_HEADER",
    "LlmreelApp",
    "ServerConfig",
    "ServerThread",
    "bind_socket",
    "create_app",
    "serve",
    "serve_in_thread",
]
