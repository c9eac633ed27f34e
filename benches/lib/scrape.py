#!/usr/bin/env python3
"""Saves a server's /metrics to a file, or an empty file when it has none
(examples/bare_http) or does not answer within 5 s.

usage: scrape.py PORT FILE
benches/run.sh scrapes before and after each wrk run; wrk_result.py counts the
responses by status from the difference.
"""
import sys
import urllib.error
import urllib.request


def main() -> None:
    port, path = sys.argv[1], sys.argv[2]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            body = response.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError):
        body = ""
    with open(path, "w", encoding="utf-8") as f:
        f.write(body)


if __name__ == "__main__":
    main()
