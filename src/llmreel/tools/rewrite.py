"""Writing a fresh answer over its recording: same file, same position, the recorder's rules.

``llmreel verify --update`` and ``llmreel rerecord`` replace the response of a
recording in place. The new interaction is built by the engine exactly as a
recording is (:meth:`~llmreel.engine.Engine.build_interaction`: response
headers redacted, every string scanned for key-shaped secrets, a hit refused
with :class:`~llmreel.exceptions.SecretLeakError`), then written atomically
over the old file (temporary file + rename): the old file stays whole until the
new one replaces it, and stays as it was when anything fails.

What the request was is kept from the old file: its key, sequence position,
test id, normalizers and metadata (less what an import from llama-stack kept of
the old answer), so the file name and the replay order do not change. Only
llmreel's own files are written: llama-stack recordings and vcrpy cassettes are
read-only here (see :func:`read_only_reason`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from llmreel.engine import Engine, Mode
from llmreel.exceptions import ConfigError
from llmreel.formats import native
from llmreel.formats.llama_stack.export import PROVENANCE_KEY
from llmreel.matching import Matcher
from llmreel.model.interaction import Interaction, Response
from llmreel.store import Cassette
from llmreel.store.files import write_atomically

__all__ = ["InPlaceWriter", "read_only_reason"]


def read_only_reason(inter: Interaction) -> str | None:
    """Why ``inter`` cannot be re-recorded in place, or None when it can."""
    if inter.source == "llama-stack":
        return (
            "llama-stack recordings are read-only for llmreel (its files hold SDK objects that "
            "a wire answer cannot give back faithfully): re-record it with llama-stack's "
            "recorder, or `llmreel import` the directory and re-record the llmreel copy"
        )
    if inter.source != "llmreel":
        return (
            f"{inter.source} cassettes are read-only for llmreel: `llmreel import` it and "
            f"re-record the llmreel copy"
        )
    if not inter.path:
        return "it was not read from a file"
    return None


class InPlaceWriter:
    """Writes re-recorded answers over their files, with one recording engine per folder."""

    def __init__(self, allow_secrets: tuple[str, ...] = ()) -> None:
        self.allow_secrets = allow_secrets
        self._engines: dict[tuple[Path, tuple[str, ...]], Engine] = {}

    def _engine(self, folder: Path, specs: tuple[str, ...]) -> Engine:
        engine = self._engines.get((folder, specs))
        if engine is None:
            # Only the redaction rules shape what is written; keys come from the old file.
            redact = [s for s in specs if s.startswith("redact:")]
            try:
                matcher = Matcher(redact)
            except ConfigError:
                matcher = Matcher()
            cassette = Cassette(folder, matcher, recursive=False)
            engine = Engine(cassette, Mode.RECORD, allow_secrets=self.allow_secrets)
            self._engines[(folder, specs)] = engine
        return engine

    def write(self, old: Interaction, response: Response) -> Path:
        """Replace ``old``'s answer with ``response`` in its file; returns the file."""
        reason = read_only_reason(old)
        if reason is not None:
            raise ConfigError(f"{old.path}: not re-recorded: {reason}.")
        assert old.path is not None
        path = Path(old.path)
        engine = self._engine(path.parent, old.normalizers)
        new = engine.build_interaction(old.request, old.key, response)  # SecretLeakError
        new.position = old.position
        new.test_id = old.test_id
        new.normalizers = old.normalizers
        new.meta = dict(old.meta)
        prov = new.meta.get(PROVENANCE_KEY)
        if isinstance(prov, dict):
            # Imported from llama-stack: what it recorded of the *old* answer (its flags and
            # SDK type names) no longer describes this one; export infers them afresh.
            new.meta[PROVENANCE_KEY] = {
                k: v for k, v in prov.items() if k not in ("response", "types")
            }
        new.any_body = old.any_body
        new.path = str(path)
        write_atomically(path.parent, path.name, native.dumps(new), overwrite=True)
        return path

    def close(self) -> None:
        for engine in self._engines.values():
            with contextlib.suppress(Exception):
                engine.cassette.close()
        self._engines.clear()
