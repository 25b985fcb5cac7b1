"""bitpin gzip: compresses files in place, as the incremental run publishes WAL segments.

Run by lib-wal.sh (compress_published) as ``python3 -I -S bitpin_gzip.py LEVEL FILE...``: each
FILE becomes FILE.gz — written as FILE.gz.tmp.<pid> through zlib (the deflate pg_receivewal's own
--compress=gzip uses; GNU gzip's is slower), fsync'd, renamed, then FILE is removed. One process
for all the files. Any failure ends the run with a non-zero status and leaves FILE in place.
"""

import contextlib
import os
import sys
import zlib

BUFFER = 1 << 20  # 1 MiB reads into one reused buffer


def gzip_file(path, level, buf=None):
    """Writes path.gz (gzip, deflate level `level`) and removes path; returns the compressed size,
    or None when path is gone (another process compressed it meanwhile: the receiver and an
    incremental run may both publish; each writes its own .tmp, and the renames are atomic)."""
    buf = buf if buf is not None else bytearray(BUFFER)
    view = memoryview(buf)
    tmp, dest = "%s.gz.tmp.%d" % (path, os.getpid()), path + ".gz"
    comp = zlib.compressobj(level, zlib.DEFLATED, 31)  # wbits 31: a gzip header and trailer
    try:
        src = open(path, "rb", buffering=0)
    except FileNotFoundError:
        return None
    try:
        with src, open(tmp, "wb") as out:
            while True:
                n = src.readinto(buf)
                if not n:
                    break
                out.write(comp.compress(view[:n]))
            out.write(comp.flush())
            out.flush()
            os.fsync(out.fileno())
            size = out.tell()
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return size


def main(argv):
    if len(argv) < 2 or not argv[1].isdigit() or not 1 <= int(argv[1]) <= 9:
        sys.stderr.write("usage: bitpin_gzip.py LEVEL(1-9) FILE...\n")
        return 2
    level = int(argv[1])
    buf = bytearray(BUFFER)
    for path in argv[2:]:
        gzip_file(path, level, buf)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
