from maidcore.cli import main

main()
