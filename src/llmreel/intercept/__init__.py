"""In-process interception: every HTTP client in this process, routed through the engine.

:mod:`.use_cassette` is the user's entry point; :mod:`.patching` installs the
process-wide patches while a cassette is active, and :mod:`.stack` says which
one is. One module per HTTP library: :mod:`.httpx_transports` (httpx and
httpx2, sync and async), :mod:`.aiohttp_adapter`, :mod:`.requests_adapter`;
a new library's adapter goes beside them and is listed in :mod:`.patching`.
:mod:`.guard` blocks what no adapter covers; :mod:`.forwarding` keeps layered
stacks from recording one call twice.
"""
