"""Puts the compat module and the stand-in ADW package (stub_adws/adws) on sys.path."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
for path in (os.path.dirname(HERE), os.path.join(HERE, "stub_adws")):
    if path not in sys.path:
        sys.path.insert(0, path)
