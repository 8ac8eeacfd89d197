"""``python -m mirage_cli ...``: the same as the ``mirage`` console script."""

import sys

from mirage_cli.main import main

if __name__ == "__main__":
    sys.exit(main())
