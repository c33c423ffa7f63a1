"""llama-stack's test recordings, both generations: read them, name them, write them back.

:mod:`.reader` turns a recording into a wire-level interaction (with
:mod:`.ollama` for what the ollama client really sends); :mod:`.naming` is the
recorder's own hashing, which names the files; :mod:`.export` and
:mod:`.writer` write interactions back as llama-stack documents, with the
``__type__`` names of :mod:`.sdk_types`.
"""

from llmreel.formats.llama_stack.reader import GET_ENDPOINTS, from_document, wire_request

__all__ = ["GET_ENDPOINTS", "from_document", "wire_request"]
