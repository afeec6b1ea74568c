"""`python -m teslalink` is the `teslalink` command."""

from teslalink.cli.main import main

main()
