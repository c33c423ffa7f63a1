"""The tools behind the command line.

:mod:`.catalog` finds and reads recording files in bulk (every format);
:mod:`.summary` (with :mod:`.prompts` and :mod:`.answers`) says what a
recording holds as a person reads it; :mod:`.audit` validates files
(``check``); :mod:`.migrate` imports and exports other tools' recordings;
:mod:`.sync` moves cassettes to and from object storage.

Keeping recordings true to the live provider: :mod:`.shape` reduces an answer
to its structure, :mod:`.drift` says in words what differs between two
structures, :mod:`.resend` sends a recorded request again (credentials from the
environment), :mod:`.verify` and :mod:`.rerecord` run them over a directory, and
:mod:`.rewrite` writes a fresh answer over its recording under the engine's rules.
"""
