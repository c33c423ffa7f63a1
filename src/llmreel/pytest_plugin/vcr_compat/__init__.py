"""pytest-recording, replaced in place: a suite's ``@pytest.mark.vcr`` tests, unedited, on llmreel.

With pytest-recording disabled (``-p no:recording``) or uninstalled, llmreel
serves its markers (``vcr``, ``default_cassette``, ``block_network``), fixtures
(``vcr``, ``vcr_config``, ``vcr_cassette_dir``, ``default_cassette_name``,
``record_mode``, ...), options (``--record-mode``, ``--block-network``,
``--allowed-hosts``, ...) and its ``pytest_recording_configure`` hook, and reads
and writes the suite's cassette files where they are, through its serializer.
Requests match as ``vcr_config`` says (vcrpy's matchers, first unplayed
interaction in recorded order); ``--llmreel-strict`` switches those tests to
llmreel's own matching, and without it the summary says how many replays would
miss under it (details in ``.llmreel/strict-misses.txt``). Streams replay
through llmreel's transports, recordings pass llmreel's secret refusal, and a
cassette that only replays guards the network.

Modules: :mod:`.entry` (wiring), :mod:`.detect`, :mod:`.options`,
:mod:`.fixtures`, :mod:`.plugin` (per test), :mod:`.config` (``vcr_config``
merged and resolved), :mod:`.cassette` (the file and the ``vcr`` fixture),
:mod:`.engine` (replay/record/miss), :mod:`.request`, :mod:`.matchers`,
:mod:`.filters`, :mod:`.strict`, :mod:`.explain`, :mod:`.network`, :mod:`.report`.
"""
