"""``python cli.py ...`` in a checkout runs socialarchive's command line.

The commands live in the package ``connector.cli`` (one module per group of commands); the installed
console script ``socialarchive`` is ``connector.cli:main``. This file is not installed: a top-level
module named ``cli`` in site-packages would collide with any other distribution's.
"""
from connector.cli import main

if __name__ == "__main__":
    main()
