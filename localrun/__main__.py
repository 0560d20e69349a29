import sys

from localrun.cli import main

sys.exit(main())
