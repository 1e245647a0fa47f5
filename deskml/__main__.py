import multiprocessing
import sys

from deskml.cli.main import main

if __name__ == "__main__":  # not when a helper process (charts) imports this module again
    multiprocessing.freeze_support()
    sys.exit(main())
