import sys

from geomexp.report.cli import main

sys.exit(main())
