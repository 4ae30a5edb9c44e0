"""``python -m belay.cli``: the same as the ``belay`` console script."""

from belay.cli import main

main()
