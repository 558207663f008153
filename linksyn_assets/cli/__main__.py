"""`python -m linksyn_assets.cli`."""

import sys

from linksyn_assets.cli import main

sys.exit(main())
