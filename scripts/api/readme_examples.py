"""Runs every curl example of README.md against live servers, so that the
README cannot drift from the service.

    python3 scripts/api/readme_examples.py BINARY README.md

Each ```sh block that calls the service on localhost:8000 (or 8001, the
second instance of the API-key example) runs in order, as its reader would
run it: the block's own commands, with the ports swapped for free ones on
127.0.0.1. A server started in the block itself (`... ./target/release/
churn-serve &`) is started here with the same environment, waited for, and
stopped by PID after its block; every other block talks to one server
started here with the defaults, as `make run` serves. `xdg-open` lines and
blocks that need Docker or Kubernetes are left out.

A command passes when curl exits 0 and its output shows what the `# ...`
comment under it shows: every `"key":value` pair written there, numbers to
the digits shown (and within 1e-6: probabilities may differ in their last
bits between CPUs); `uptime_seconds` and `request_id` change from run to
run, so only their presence is required. A comment that is not JSON must
appear as text. `...` stands for output the README leaves out.
"""

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request

VOLATILE = {"uptime_seconds", "request_id"}
NUM = r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
PAIR = re.compile(r'"([^"]+)":("(?:[^"\\]|\\.)*"|' + NUM + r"|true|false|null)")
NUMBER = re.compile(NUM)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, env, port):
    environment = {**os.environ, "CHURN_HOST": "127.0.0.1", "LOG_LEVEL": "warn", **env, "PORT": str(port)}
    process = subprocess.Popen([binary], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"FAIL server exited at startup: {process.stderr.read().decode()[-500:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    stop(process)
    sys.exit("FAIL server not ready within 30 s")


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def blocks(readme):
    """The ```sh blocks, each as a list of (command, expected comment) pairs."""
    text = open(readme, encoding="utf-8").read()
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        commands = []
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            i += 1
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            while line.endswith("\\") or line.count("'") % 2:
                line = line[:-1] + " " if line.endswith("\\") else line + "\n"
                line += lines[i].strip() if not line.endswith("\n") else lines[i]
                i += 1
            expected = []
            while i < len(lines) and lines[i].lstrip().startswith("#"):
                expected.append(lines[i].lstrip()[1:].strip())
                i += 1
            commands.append((line, " ".join(expected)))
        yield commands


def shown(expected, output):
    """Does `output` show what the README's comment shows?"""
    if not expected:
        return True
    pairs = PAIR.findall(expected)
    if not pairs:
        return all(part.strip() in output for part in expected.split("...") if part.strip())
    for key, value in pairs:
        if key in VOLATILE:
            if f'"{key}":' not in output:
                return False
        elif NUMBER.fullmatch(value):
            # To the digits shown, and within 1e-6 (the CPU's float path).
            decimals = len(value.partition(".")[2].split("e")[0].split("E")[0])
            tolerance = max(1e-6 * abs(float(value)), 10.0**-decimals)
            found = re.findall(rf'"{re.escape(key)}":({NUM})', output)
            if not any(abs(float(f) - float(value)) <= tolerance for f in found):
                return False
        elif f'"{key}":{value}' not in output:
            return False
    return True


def main():
    binary, readme = sys.argv[1], sys.argv[2]
    ran = 0
    failures = []
    main_server = None
    ports = {"8000": free_port(), "8001": free_port()}
    try:
        for commands in blocks(readme):
            if not any(re.search(r"localhost:800[01]", c) for c, _ in commands):
                continue
            if any(c.split()[0] in ("docker", "kubectl", "podman") for c, _ in commands):
                continue
            own = None
            for command, expected in commands:
                if command.startswith(("xdg-open", "kill ")):
                    continue  # (the servers started here are stopped by PID)
                words = shlex.split(command.rstrip("&"))
                if words and words[-1].endswith("churn-serve"):
                    env = dict(w.split("=", 1) for w in words[:-1])
                    port = ports[env.pop("PORT", "8000")]
                    own = start(binary, env, port)
                    continue
                if own is None and main_server is None:
                    main_server = start(binary, {}, ports["8000"])
                for readme_port, port in ports.items():
                    command = command.replace(f"localhost:{readme_port}", f"127.0.0.1:{port}")
                result = subprocess.run(
                    ["bash", "-c", "set -o pipefail; " + command], capture_output=True, text=True, timeout=30
                )
                ran += 1
                ok = result.returncode == 0 and shown(expected, result.stdout)
                print(("ok   " if ok else "FAIL ") + command[:110].replace("\n", " "))
                if not ok:
                    failures.append(command)
                    print(f"     expected: {expected[:300]}\n     got (exit {result.returncode}): "
                          f"{(result.stdout or result.stderr)[:300]}")
            if own is not None:
                stop(own)
    finally:
        if main_server is not None:
            stop(main_server)
    print(f"readme examples: {ran} run, {len(failures)} failed")
    return 1 if failures or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
