"""The `sysimage-docker` command (also `python -m sysimage_containers`)."""

import gc


def run() -> None:
    # Start-up allocates objects that stay alive (modules, the parsed manifest): the cyclic collector, run again
    # and again over them, cost about 8 % of a cold `generate`. The engine commands, which run for minutes,
    # turn it back on (cli.long_running).
    gc.disable()
    from sysimage_containers.cli import main

    main()


if __name__ == "__main__":
    run()
