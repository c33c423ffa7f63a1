"""The documented default of each request parameter, per endpoint: the one table.

The ``api-defaults`` canonical rule drops a parameter sent at the value listed
here, so ``{"stream": false}`` and ``{}`` are one request. An entry is here only
when both hold:

1. the provider's API reference (or its official SDK, generated from it)
   documents the default; the comment on each entry says where; and
2. the default does not depend on who serves the path. The key never includes
   the host, so ``/v1/chat/completions`` may be OpenAI, Azure, llama.cpp, vLLM
   or Ollama's compatibility layer: a default that differs between them is left
   out even when the provider documents it.

Left out on purpose, with the reason:

- ``temperature: 1`` and ``top_p: 1`` (OpenAI chat, completions, Responses;
  Anthropic ``temperature: 1``): documented, but OpenAI-compatible servers pick
  their own (llama.cpp: 0.8 and 0.95; vLLM: the model's generation config), so
  sending 1 changes the answer there.
- ``parallel_tool_calls: true``: OpenAI's default, llama.cpp's is false.
- ``max_tokens``: every server has its own.
- Sampling ``options`` of Ollama and ``generationConfig`` of Gemini: they come
  from the model (its Modelfile or its card), not from the API.

Sources, abbreviated below:

- [oai-spec]: OpenAI's OpenAPI description (github.com/openai/openai-openapi,
  ``openapi.yaml``), the schema named in the comment, its ``default:``.
- [oai-sdk]: the docstrings of the ``openai`` Python SDK's request parameter
  types (``openai/types/...``), generated from the same reference.
- [ant-sdk]: the docstrings of the ``anthropic`` Python SDK's parameter types.
- [ant-docs]: Anthropic's tool-choice guide (platform.claude.com, cookbook
  "tool-use-tool-choice": "auto ... is the default behavior when working with tools").
- [azure-ref]: Azure OpenAI's data-plane inference reference (learn.microsoft.com,
  azure/ai-services/openai/reference-preview, 2025-02-01-preview), the table of
  request body defaults: the same API, served by Azure.
- [ollama-api]: Ollama's API reference (github.com/ollama/ollama, ``docs/api.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULTS", "Default"]


@dataclass(frozen=True, slots=True)
class Default:
    """A parameter at ``path`` (dotted, inside the body) whose documented default is ``value``.

    ``with_tools``: the default only holds when the request defines tools (a
    ``tools`` list that is not empty); without tools, sending the parameter at
    all may be an error, so it must stay in the key.
    """

    path: str
    value: Any
    source: str
    with_tools: bool = False


DEFAULTS: dict[str, tuple[Default, ...]] = {
    "openai.chat": (
        Default("stream", False, "[oai-spec] CreateChatCompletionRequest.stream"),
        Default("frequency_penalty", 0, "[oai-spec] CreateChatCompletionRequest.frequency_penalty"),
        Default("presence_penalty", 0, "[oai-spec] CreateChatCompletionRequest.presence_penalty"),
        Default("logprobs", False, "[azure-ref] Chat completions - Create, logprobs"),
        # [oai-spec] default 1. The SDK adds "Newer models reject an explicit `n`, even
        # `n=1`": for those models an explicit n is refused whatever its value, so a recording
        # made with `n: 1` that succeeded proves the model takes it as the default. Only a
        # recorded *refusal* of `n: 1` would be replayed to a call without `n`: switch the rule
        # off (`canonical_off="api-defaults"`) for a test of that error.
        Default("n", 1, "[oai-spec] CreateChatCompletionRequest.n"),
        # [oai-sdk] completion_create_params.tool_choice: "`auto` is the default if tools are
        # present" (and `none` when they are not; an explicit value without tools is refused).
        Default("tool_choice", "auto", "[oai-sdk] chat completion_create_params.tool_choice", True),
    ),
    "openai.completions": (
        Default("stream", False, "[oai-spec] CreateCompletionRequest.stream"),
        Default("echo", False, "[oai-spec] CreateCompletionRequest.echo"),
        Default("n", 1, "[oai-spec] CreateCompletionRequest.n"),
        Default("frequency_penalty", 0, "[oai-spec] CreateCompletionRequest.frequency_penalty"),
        Default("presence_penalty", 0, "[oai-spec] CreateCompletionRequest.presence_penalty"),
    ),
    "openai.embeddings": (
        # The openai SDK asks for "base64" by default; only "float" is the API's default.
        Default("encoding_format", "float", "[oai-spec] CreateEmbeddingRequest.encoding_format"),
    ),
    "openai.responses": (
        Default("stream", False, "[oai-sdk] response_create_params.stream"),
        # "Defaults to true when omitted."
        Default("store", True, "[oai-sdk] response_create_params.store"),
        # "`disabled` (default)"
        Default("truncation", "disabled", "[oai-sdk] response_create_params.truncation"),
        # "The default format is `{ "type": "text" }` with no additional options."
        Default("text.format", {"type": "text"}, "[oai-sdk] response_text_config.format"),
        # A text configuration left empty by the entry above is the default configuration.
        Default("text", {}, "[oai-sdk] response_text_config (every member optional)"),
    ),
    "anthropic.messages": (
        Default("stream", False, "[ant-sdk] message_create_params.stream (Literal[False])"),
        # "Defaults to `false`." (tool_choice_auto_param.disable_parallel_tool_use)
        Default(
            "tool_choice.disable_parallel_tool_use",
            False,
            "[ant-sdk] tool_choice_*_param.disable_parallel_tool_use",
        ),
        Default("tool_choice", {"type": "auto"}, "[ant-docs] tool_choice auto", True),
    ),
    "ollama.chat": (
        # "stream: if false the response will be returned as a single response object"
        Default("stream", True, "[ollama-api] Generate a chat completion, stream"),
    ),
    "ollama.generate": (
        Default("stream", True, "[ollama-api] Generate a completion, stream"),
        Default("raw", False, "[ollama-api] Generate a completion, raw"),
    ),
    "ollama.embed": (
        # "Returns error if `false` and context length is exceeded. Defaults to `true`"
        Default("truncate", True, "[ollama-api] Generate Embeddings, truncate"),
    ),
}
"""Per endpoint (see :mod:`llmreel.providers.endpoints`), applied in order."""
