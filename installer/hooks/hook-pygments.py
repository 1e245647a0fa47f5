# DeskML's own hook for Pygments, in place of PyInstaller's (which collects every lexer,
# formatter and style: 340 modules, a tenth of the bundle's build time). The app has
# Pygments only because superqt's utilities import it, for a code highlighter DeskML does
# not use: its core modules, which that import brings in, are enough.
hiddenimports = []
