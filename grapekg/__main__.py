from grapekg.cli.app import main

main()
