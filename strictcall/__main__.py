import sys

from strictcall.cli import main

sys.exit(main())
