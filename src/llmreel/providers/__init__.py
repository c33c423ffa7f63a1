"""What llmreel knows about each provider's API: the place for a new provider's rules.

:mod:`.table` lists the providers (paths, credential headers and query
parameters); :mod:`.error_shapes` answers errors in each API's own shape, so
its SDK raises its own exception class; :mod:`.credentials` says which
environment variable each SDK reads its key from (to send a recorded request
again), and :mod:`.answer_values` the documented values of the fields that say
how an answer ended.
"""
