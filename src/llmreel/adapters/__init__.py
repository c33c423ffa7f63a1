"""Adapters for HTTP stacks other than httpx/httpx2: aiohttp and requests.

Each adapter lives in its own module and imports its library at module import
time, so :mod:`llmreel.intercept` imports an adapter only when that library is
installed. What the adapters share (turning wire parts into a
:class:`~llmreel.interaction.Request`, and the flag that stops a forwarded call
from being intercepted twice) is in :mod:`llmreel.adapters._common`.
"""
