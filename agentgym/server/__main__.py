"""``python -m agentgym.server ENV_ID ...`` is ``agentgym serve ENV_ID ...``."""

import sys

from .cli import main

sys.exit(main())
