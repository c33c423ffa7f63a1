"""pytest-recording's command-line options, served by llmreel, and ``--llmreel-strict``.

``--record-mode``, ``--block-network``, ``--allowed-hosts``,
``--allow-private-ips`` and ``--disable-recording`` are added (with the same
destinations, so ``config.getoption("record_mode")`` keeps working) only when
pytest-recording is not active; ``--llmreel-strict`` always is.
"""

from __future__ import annotations

import pytest

from llmreel.pytest_plugin.vcr_compat.config import RECORD_MODES

__all__ = ["ENV_STRICT", "add_strict_option", "add_vcr_options"]

ENV_STRICT = "LLMREEL_STRICT"


def add_strict_option(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmreel", "llmreel: record and replay LLM API traffic")
    group.addoption(
        "--llmreel-strict",
        dest="llmreel_strict",
        action="store_const",
        const="true",
        default=None,
        help="match @pytest.mark.vcr tests' requests with llmreel's own matching instead of "
        f"their vcr_config match_on. Env: ${ENV_STRICT}=1.",
    )
    parser.addini(
        "llmreel_strict",
        "true: match @pytest.mark.vcr tests with llmreel's own matching",
        type="string",
        default="",
    )


def add_vcr_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("recording", "pytest-recording's options (served by llmreel)")
    group.addoption(
        "--record-mode",
        dest="record_mode",
        action="store",
        default=None,
        choices=RECORD_MODES,
        help='record mode of @pytest.mark.vcr cassettes (default "none": replay only): '
        "once, new_episodes, none, all, rewrite.",
    )
    group.addoption(
        "--block-network",
        dest="block_network",
        action="store_true",
        default=False,
        help="block network access (loopback stays reachable) in every test, except while "
        "a vcr cassette records.",
    )
    group.addoption(
        "--allowed-hosts",
        dest="allowed_hosts",
        action="store",
        default=None,
        help="comma-separated regular expressions of hosts that stay reachable while the "
        "network is blocked.",
    )
    group.addoption(
        "--allow-private-ips",
        dest="allow_private_ips",
        action="store_true",
        default=False,
        help="keep private IP addresses reachable while the network is blocked.",
    )
    group.addoption(
        "--disable-recording",
        dest="disable_recording",
        action="store_true",
        default=False,
        help="turn @pytest.mark.vcr cassettes off: requests go to the network.",
    )
