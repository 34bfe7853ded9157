"""``python -m service.cli serve``: the ``gonogo`` command without its installed script."""

import sys

from service.cli import main

sys.exit(main())
