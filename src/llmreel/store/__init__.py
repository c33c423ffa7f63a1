"""Where cassettes live: a directory of recording files plus a derived index.

:mod:`.cassette` maps keys to files and sequences; :mod:`.files` lists and
writes files on local disk; :mod:`.names` says what a cassette and a recording
file may be called; :mod:`.index` is the derived SQLite cache of large
cassettes; :mod:`.usage` records which files the last run used. A cassette
may also live in an object store (:mod:`.remote`); :mod:`.locations` opens
either kind from a path or a URL.
"""

from llmreel.store.cassette import Cassette, Entry
from llmreel.store.locations import Location, child_location, is_remote, open_cassette
from llmreel.store.names import cassette_path, validate_cassette_name
from llmreel.store.remote import RemoteCassette

__all__ = [
    "Cassette",
    "Entry",
    "Location",
    "RemoteCassette",
    "cassette_path",
    "child_location",
    "is_remote",
    "open_cassette",
    "validate_cassette_name",
]
