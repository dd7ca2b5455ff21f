from modctl.cli import main

main()
