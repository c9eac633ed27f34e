#!/usr/bin/env python3
"""Runs a command and writes the CPU seconds (user + system) it used to a file.

usage: run_cpu.py CPU_FILE COMMAND [ARGS...]   (exit status is the command's)
bench.sh uses it to report the load generator's (wrk's) CPU per request,
since wrk shares the machine's cores with the server.
"""
import resource
import subprocess
import sys


def main() -> None:
    cpu_file, command = sys.argv[1], sys.argv[2:]
    code = subprocess.call(command)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(cpu_file, "w", encoding="utf-8") as f:
        f.write(f"{usage.ru_utime + usage.ru_stime:.3f}\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
