"""bitpin gzip: compresses files in place, as the incremental run publishes WAL segments.

Run by lib-wal.sh as

- ``python3 -I -S bitpin_gzip.py [--sums FILE] LEVEL FILE...`` (compress_published): each FILE
  becomes FILE.gz — written as FILE.gz.tmp.<pid>.<n> through zlib (the deflate pg_receivewal's own
  --compress=gzip uses; GNU gzip's is slower), fsync'd, renamed, then FILE is removed. Any
  failure ends the run with a non-zero status and leaves FILE in place.
- ``python3 -I -S bitpin_gzip.py [--sums FILE] --follow DIR STOPFILE LEVEL [PID]`` (an incremental
  run's fallback, while its pg_receivewal streams plain WAL into DIR): every complete segment or
  timeline history file that appears in DIR is compressed as soon as it is there (DIR is looked
  at every 50 ms), so compression overlaps the streaming; once STOPFILE is gone (or process PID,
  the run, has ended), the ones left are compressed and it exits (non-zero when one failed: the
  run's publish step retries it).

Files are compressed by up to two threads (zlib, hashlib and file I/O release the GIL, so they
run on two cores; a 2-core machine's streaming ends with a queue of complete segments). With
--sums, a line ``<sha256> <bytes> <inode> <mtime_ns> <name>.gz`` is appended to FILE for each
file written: the SHA-256 of the compressed bytes, taken as they are written (bitpin_sha256.py
--known uses it for a file whose size, inode and mtime still match instead of reading it again).
"""

import concurrent.futures
import contextlib
import hashlib
import itertools
import os
import re
import sys
import threading
import time
import zlib

BUFFER = 1 << 20  # 1 MiB reads into one buffer per thread
COMPLETE = re.compile(r"^([0-9A-F]{24}|[0-9A-F]{8}\.history)$")  # what pg_receivewal has completed
POLL = 0.05  # seconds between two looks at the directory in --follow mode
_local = threading.local()
_tmp_ids = itertools.count()


def _buffer():
    buf = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = bytearray(BUFFER)
    return buf


def workers():
    """Threads to compress with: two where the process may run on two CPUs or more, else one."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return 2 if cpus >= 2 else 1


def gzip_file(path, level, buf=None, sums=None):
    """Writes path.gz (gzip, deflate level `level`) and removes path; returns the compressed size,
    or None when path is gone (another process compressed it meanwhile: the receiver and an
    incremental run may both publish; each writes its own .tmp, and the renames are atomic).
    sums: a callable given (sha256 hex, os.stat of the written file, dest) once dest is in place."""
    buf = buf if buf is not None else _buffer()
    view = memoryview(buf)
    tmp, dest = "%s.gz.tmp.%d.%d" % (path, os.getpid(), next(_tmp_ids)), path + ".gz"
    comp = zlib.compressobj(level, zlib.DEFLATED, 31)  # wbits 31: a gzip header and trailer
    h = hashlib.sha256() if sums is not None else None
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
                chunk = comp.compress(view[:n])
                if chunk:
                    out.write(chunk)
                    if h is not None:
                        h.update(chunk)
            chunk = comp.flush()
            out.write(chunk)
            if h is not None:
                h.update(chunk)
            out.flush()
            os.fsync(out.fileno())
            st = os.fstat(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    if sums is not None:
        sums(h.hexdigest(), st, dest)
    return st.st_size


class Sums:
    """Appends "<sha256> <bytes> <inode> <mtime_ns> <name>" lines to a file, one write per line (O_APPEND)."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def __call__(self, digest, st, dest):
        line = "%s %d %d %d %s\n" % (digest, st.st_size, st.st_ino, st.st_mtime_ns, os.path.basename(dest))
        os.write(self.fd, line.encode())

    def close(self):
        os.close(self.fd)


def compress_all(paths, level, sums=None):
    """Compresses paths on up to two threads; returns the number that failed (each one reported)."""
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers()) as pool:
        futures = {pool.submit(gzip_file, p, level, None, sums): p for p in paths}
        for fut in concurrent.futures.as_completed(futures):
            err = fut.exception()
            if err is not None:
                failed += 1
                sys.stderr.write("bitpin_gzip.py: %s: %s\n" % (futures[fut], err))
    return failed


def alive(pid):
    """Whether process pid exists (None: no process to watch)."""
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def follow(directory, stopfile, level, sums=None, pid=None):
    """Compresses complete files as they appear in directory until stopfile is gone (or process
    pid has ended), then the rest; returns the number that failed."""
    seen, pending, failed = set(), set(), 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers()) as pool:
        while True:
            # Looked at before the last scan: nothing written before the stop is missed.
            stopping = not os.path.exists(stopfile) or not alive(pid)
            with os.scandir(directory) as it:
                names = sorted(e.name for e in it if COMPLETE.match(e.name) and e.name not in seen)
            for name in names:
                seen.add(name)
                path = os.path.join(directory, name)
                pending.add(pool.submit(gzip_file, path, level, None, sums))
            for fut in [f for f in pending if f.done()]:
                pending.discard(fut)
                if fut.exception() is not None:
                    failed += 1
                    sys.stderr.write("bitpin_gzip.py: %s\n" % fut.exception())
            if stopping:
                break
            time.sleep(POLL)
        for fut in concurrent.futures.as_completed(pending):
            if fut.exception() is not None:
                failed += 1
                sys.stderr.write("bitpin_gzip.py: %s\n" % fut.exception())
    return failed


def usage():
    sys.stderr.write(
        "usage: bitpin_gzip.py [--sums FILE] LEVEL(1-9) FILE...\n"
        "       bitpin_gzip.py [--sums FILE] --follow DIR STOPFILE LEVEL(1-9) [PID]\n"
    )
    return 2


def main(argv):
    args = argv[1:]
    sums = None
    if args[:1] == ["--sums"]:
        if len(args) < 2:
            return usage()
        sums = Sums(args[1])
        args = args[2:]
    if args[:1] == ["--follow"]:
        if len(args) not in (4, 5) or not all(a.isdigit() for a in args[3:]) or not 1 <= int(args[3]) <= 9:
            return usage()
        pid = int(args[4]) if len(args) == 5 else None
        return 1 if follow(args[1], args[2], int(args[3]), sums, pid) else 0
    if not args or not args[0].isdigit() or not 1 <= int(args[0]) <= 9:
        return usage()
    return 1 if compress_all(args[1:], int(args[0]), sums) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
