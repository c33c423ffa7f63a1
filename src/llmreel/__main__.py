"""``python -m llmreel`` runs the command line."""

from llmreel.cli import main

main()
