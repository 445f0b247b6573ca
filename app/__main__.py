"""``python -m app``: the desktop application."""

import sys

from .main import main

sys.exit(main())
