"""`python -m optionscope`: the command line (used to start detached backfill workers)."""

from optionscope.cli.main import app

if __name__ == "__main__":  # worker processes import this module without running it
    app(prog_name="optionscope")
