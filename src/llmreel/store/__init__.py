"""Where cassettes live: a directory of recording files plus a derived index.

:mod:`.cassette` maps keys to files and sequences; :mod:`.files` lists and
writes files on local disk; :mod:`.names` says what a cassette and a recording
file may be called; :mod:`.index` is the derived SQLite cache of large
cassettes; :mod:`.usage` records which files the last run used.
"""

from llmreel.store.cassette import Cassette, Entry
from llmreel.store.names import cassette_path, validate_cassette_name

__all__ = ["Cassette", "Entry", "cassette_path", "validate_cassette_name"]
