"""DeskML's command line: ``deskml`` opens the app, ``deskml SUBCOMMAND`` automates."""
