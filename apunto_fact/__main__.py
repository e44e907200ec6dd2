"""python -m apunto_fact: the same as the `apunto-fact` console script."""
from .cli import main

main()
