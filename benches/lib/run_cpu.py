#!/usr/bin/env python3
"""Runs a command and writes to a file the CPU seconds (user + system) it used
and its voluntary and involuntary context switches: "CPU_S VOL INVOL".

usage: run_cpu.py CPU_FILE COMMAND [ARGS...]   (exit status is the command's)
benches/run.sh uses it to report the load generator's (wrk's) CPU per request,
since wrk shares the machine's cores with the server, and how often wrk
slept (voluntary switches): each wake-up takes a core from the server.
"""
import resource
import subprocess
import sys


def main() -> None:
    cpu_file, command = sys.argv[1], sys.argv[2:]
    code = subprocess.call(command)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(cpu_file, "w", encoding="utf-8") as f:
        f.write(f"{usage.ru_utime + usage.ru_stime:.3f} {usage.ru_nvcsw} {usage.ru_nivcsw}\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
