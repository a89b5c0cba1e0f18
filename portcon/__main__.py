"""`python -m portcon` runs the command line."""

import sys

from portcon.cli.main import main

sys.exit(main())
