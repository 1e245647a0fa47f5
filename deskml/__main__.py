import sys

from deskml.cli.main import main

sys.exit(main())
