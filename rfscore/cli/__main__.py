"""``python -m rfscore.cli``: the `rfscore` command line, as the console script and ``python -m rfscore``."""
import sys

from . import main

sys.exit(main())
