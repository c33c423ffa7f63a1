"""Test upstreams: real or fake LLM API servers that llmreel's tests record from and proxy to.

- :mod:`.serving`: run any ASGI app with uvicorn in a background thread on a free loopback port.
- :mod:`.llamacpp`: the real llama.cpp server (PyPI ``xllamacpp``) with SmolLM2-135M.
- :mod:`.fake_ollama`: Ollama's native ``/api/*`` wire format with deterministic content.
- :mod:`.faulty`: OpenAI/Anthropic SSE upstream with per-request fault injection.
"""
