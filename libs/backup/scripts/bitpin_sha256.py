"""bitpin sha256: "<sha256>  <name>" lines, as sha256sum prints them, for the files named.

Run by lib.sh (sha256_list) as ``python3 -I -S bitpin_sha256.py NAME...``: one process for all
the files, through hashlib (OpenSSL: SHA-NI where the CPU has it, ~3x coreutils here). A file
that cannot be read ends the run with a non-zero status.
"""

import hashlib
import sys

BUFFER = 1 << 20  # 1 MiB reads into one reused buffer


def sha256_file(name, buf=None):
    """The SHA-256 (hex) of the file's bytes, read through buf (a bytearray, reused if given)."""
    buf = buf if buf is not None else bytearray(BUFFER)
    view = memoryview(buf)
    h = hashlib.sha256()
    with open(name, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return h.hexdigest()


def main(argv, out=None):
    out = out if out is not None else sys.stdout
    buf = bytearray(BUFFER)
    for name in argv:
        out.write(sha256_file(name, buf) + "  " + name + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
