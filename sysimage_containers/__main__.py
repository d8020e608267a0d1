from sysimage_containers.cli import main

main()
