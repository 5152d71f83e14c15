"""`python -m lsid_keras` runs the `lsid` command line."""

import sys

from lsid_keras.cli import main

sys.exit(main())
