"""``python -m simulator`` is the ``caresim`` command."""

import sys

from .cli import main

sys.exit(main())
