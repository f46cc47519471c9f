"""``python -m mapper``: the same command line as the ``mapper`` console script."""

from mapper.cli import main

main(prog_name="mapper")
