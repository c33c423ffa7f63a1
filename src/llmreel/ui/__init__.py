"""The web inspector: recordings as conversations, streams as timelines, traffic as it happens.

``llmreel ui DIR`` serves it on loopback; ``llmreel serve`` mounts it under
``/_llmreel/ui/``. :mod:`.index` keeps rows for every recording under DIR,
:mod:`.detail`, :mod:`.timeline` and :mod:`.usage` make what the pages show,
:mod:`.guard` and :mod:`.paths` keep it read-only, on loopback and inside DIR,
:mod:`.app` routes it; the page itself is plain HTML, CSS and JavaScript
modules in ``static/`` (no build step, nothing fetched from elsewhere).
"""

from llmreel.ui.app import UiApp, create_ui_app
from llmreel.ui.index import Query, RecordingIndex

__all__ = ["Query", "RecordingIndex", "UiApp", "create_ui_app"]
