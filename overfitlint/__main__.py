import os
import sys

# ``python -m overfitlint`` puts the working folder first on sys.path, and in CI that folder
# is the checked pull request: drop it before anything else is imported, so a json.py or
# click.py committed there is never run. (A committed overfitlint/ package would already have
# replaced this one: CI must run ``python -I -m overfitlint`` or the ``overfitlint`` script.)
sys.path[:] = [entry for entry in sys.path if entry not in ("", os.getcwd())]

from overfitlint.cli import main  # noqa: E402

main()
