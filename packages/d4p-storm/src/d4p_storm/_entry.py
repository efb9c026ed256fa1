"""Storm runs this file (``<python> <this path>``) for every d4p task."""

import os
import sys

# Python put this file's directory first on the path; d4p_storm's modules
# must not shadow top-level modules of the user's workflow.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

from d4p_storm.runner import main

sys.exit(main(sys.argv[1:]))
