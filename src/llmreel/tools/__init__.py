"""The offline tools behind the command line: they read recordings, never the network.

:mod:`.catalog` finds and reads recording files in bulk (every format);
:mod:`.summary` (with :mod:`.prompts` and :mod:`.answers`) says what a
recording holds as a person reads it; :mod:`.audit` validates files
(``check``); :mod:`.migrate` imports and exports other tools' recordings.
"""
