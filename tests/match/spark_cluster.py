"""Checks on the standalone cluster (taxgate.match.standalone): every listener on loopback."""

from __future__ import annotations

import ipaddress
import re
import subprocess


def on_loopback(address: str) -> bool:
    """'127.0.0.1:80', '[::ffff:127.0.0.1]:80', '[::1]:80': True; '*:80', '0.0.0.0:80': False."""
    host = address.rsplit(":", 1)[0].strip("[]")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # "*": every address
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def listening(pids: list[int]) -> list[str]:
    """Every TCP address the given processes listen on (`ss`, numeric)."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if owners & set(pids):
            found.append(line.split()[3])
    return found
