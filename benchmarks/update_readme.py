"""Regenerate (or, with ``--check``, check) the README's results section from the committed JSON.

Usage::

    python benchmarks/update_readme.py            # rewrite README.md's generated section
    python benchmarks/update_readme.py --check    # exit 1 if it is stale
"""

from __future__ import annotations

import sys

from lab.readme import main

if __name__ == "__main__":
    sys.exit(main())
