"""The installed app's entry point (PyInstaller's script).

DeskML starts helpers as ``[sys.executable, "-m", MODULE, ...]``: the inspection child,
the local service and its keeper, pip for wheels. In the bundle ``sys.executable`` is
this program, so ``-m MODULE`` runs that (bundled) module as Python would; anything else
is the ``deskml`` command. pip runs from its wheel, which the bundle carries whole."""
import glob
import multiprocessing
import os
import runpy
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the chart process (spawn) lands here first
    if len(sys.argv) > 2 and sys.argv[1] == "-m":
        module = sys.argv[2]
        sys.argv = [sys.argv[0], *sys.argv[3:]]
        if module.partition(".")[0] == "pip":
            sys.path[:0] = glob.glob(os.path.join(getattr(sys, "_MEIPASS", ""), "pip-*.whl"))[:1]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        sys.exit(0)
    from deskml.cli.main import main

    sys.exit(main())
