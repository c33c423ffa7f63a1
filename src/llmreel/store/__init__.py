"""Where cassettes live: a directory of recording files plus a derived index."""

from llmreel.store.cassette import Cassette, Entry, cassette_path, validate_cassette_name

__all__ = ["Cassette", "Entry", "cassette_path", "validate_cassette_name"]
