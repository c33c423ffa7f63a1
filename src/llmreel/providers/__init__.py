"""What llmreel knows about each provider's API: the place for a new provider's rules.

:mod:`.table` lists the providers (paths, credential headers and query
parameters); :mod:`.error_shapes` answers errors in each API's own shape, so
its SDK raises its own exception class.
"""
