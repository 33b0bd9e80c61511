from overfitlint.cli import main

main()
