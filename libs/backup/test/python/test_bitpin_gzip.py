"""bitpin_gzip.py: files compressed in place as the incremental run publishes WAL."""

import gzip
import hashlib
import os
import subprocess
import sys
import time
import unittest

from scripts_under_test import ScratchDirTest, load_script

SCRIPT, bgzip = load_script("bitpin_gzip")


class GzipTest(ScratchDirTest):
    prefix = "bitpin-gzip-"

    def test_replaces_the_file_with_a_gzip_that_gunzip_reads(self):
        data = os.urandom(3 << 20) + bytes(5 << 20)  # larger than the buffer, partly compressible
        path = self.file("000000010000000000000003", data)
        size = bgzip.gzip_file(path, 1)
        self.assertFalse(os.path.exists(path))
        self.assertEqual(sorted(os.listdir(self.dir)), ["000000010000000000000003.gz"])
        self.assertEqual(os.path.getsize(path + ".gz"), size)
        with gzip.open(path + ".gz", "rb") as f:
            self.assertEqual(f.read(), data)
        # The trailer's ISIZE is what pg_receivewal reads to see a complete compressed segment.
        with open(path + ".gz", "rb") as f:
            f.seek(-4, os.SEEK_END)
            self.assertEqual(int.from_bytes(f.read(4), "little"), len(data) % (1 << 32))

    def test_an_empty_file(self):
        path = self.file("00000002.history", b"")
        bgzip.gzip_file(path, 6)
        with gzip.open(path + ".gz", "rb") as f:
            self.assertEqual(f.read(), b"")

    def test_runs_as_lib_wal_runs_it_and_refuses_a_bad_level(self):
        a, b = self.file("a", b"x" * 1000), self.file("b", b"y")
        r = subprocess.run([sys.executable, "-I", "-S", SCRIPT, "1", a, b], capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(os.listdir(self.dir)), ["a.gz", "b.gz"])
        r = subprocess.run([sys.executable, "-I", "-S", SCRIPT, "0", a], capture_output=True)
        self.assertEqual(r.returncode, 2)

    def test_a_file_another_process_compressed_meanwhile_is_skipped(self):
        a = self.file("a", b"x")
        missing = os.path.join(self.dir, "missing")
        self.assertIsNone(bgzip.gzip_file(missing, 1))
        r = subprocess.run([sys.executable, "-I", "-S", SCRIPT, "1", missing, a], capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.listdir(self.dir), ["a.gz"])

    def test_a_failure_leaves_the_file_and_no_tmp(self):
        d = os.path.join(self.dir, "d")
        os.mkdir(d)  # reading a directory fails
        r = subprocess.run([sys.executable, "-I", "-S", SCRIPT, "1", d], capture_output=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(os.listdir(self.dir), ["d"])

    def test_sums_are_the_written_files_digests_sizes_inodes_and_mtimes(self):
        files = [self.file("00000001000000000000000%d" % i, os.urandom(1 << 20) + bytes(i << 20)) for i in range(1, 6)]
        sums = os.path.join(self.dir, "sums")
        r = subprocess.run([sys.executable, "-I", "-S", SCRIPT, "--sums", sums, "1", *files], capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(sums) as f:
            lines = sorted(f.read().splitlines(), key=lambda line: line.split(" ")[4])
        self.assertEqual(len(lines), 5)
        for line, path in zip(lines, sorted(files)):
            digest, size, inode, mtime, name = line.split(" ")
            self.assertEqual(name, os.path.basename(path) + ".gz")
            with open(path + ".gz", "rb") as f:
                self.assertEqual(digest, hashlib.sha256(f.read()).hexdigest())
            st = os.stat(path + ".gz")
            self.assertEqual((int(size), int(inode), int(mtime)), (st.st_size, st.st_ino, st.st_mtime_ns))
            self.assertFalse(os.path.exists(path))

    def test_follow_compresses_complete_files_as_they_appear_and_the_rest_once_stopped(self):
        stop = self.file("stop", b"")
        wal = os.path.join(self.dir, "wal")
        os.mkdir(wal)
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", SCRIPT, "--follow", wal, stop, "1"], stderr=subprocess.PIPE
        )
        self.addCleanup(proc.kill)
        first = os.path.join(wal, "000000010000000000000001")
        with open(first, "wb") as f:
            f.write(b"w" * 100000)
        deadline = time.monotonic() + 20
        while not os.path.exists(first + ".gz") and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertTrue(os.path.exists(first + ".gz"), "not compressed while following")
        self.assertIsNone(proc.poll(), "ended before its stop file was removed")
        # Written just before the stop: still compressed. An open segment and other files: left alone.
        for name in ("000000010000000000000002", "00000002.history"):
            with open(os.path.join(wal, name), "wb") as f:
                f.write(name.encode() * 1000)
        for name in ("000000010000000000000003.partial", "SHA256SUMS", "receiver.status"):
            with open(os.path.join(wal, name), "wb") as f:
                f.write(b"x")
        os.unlink(stop)
        _, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(
            sorted(os.listdir(wal)),
            [
                "000000010000000000000001.gz",
                "000000010000000000000002.gz",
                "000000010000000000000003.partial",
                "00000002.history.gz",
                "SHA256SUMS",
                "receiver.status",
            ],
        )
        with gzip.open(os.path.join(wal, "000000010000000000000002.gz"), "rb") as f:
            self.assertEqual(f.read(), b"000000010000000000000002" * 1000)

    def test_follow_reports_a_failure_and_still_compresses_the_others(self):
        stop = self.file("stop", b"")
        wal = os.path.join(self.dir, "wal")
        os.mkdir(wal)
        os.mkdir(os.path.join(wal, "000000010000000000000001"))  # cannot be read as a file
        with open(os.path.join(wal, "000000010000000000000002"), "wb") as f:
            f.write(b"ok")
        os.unlink(stop)
        r = subprocess.run([sys.executable, "-I", "-S", SCRIPT, "--follow", wal, stop, "1"], capture_output=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"000000010000000000000001", r.stderr)
        self.assertEqual(sorted(os.listdir(wal)), ["000000010000000000000001", "000000010000000000000002.gz"])

    def test_follow_ends_when_the_run_it_serves_has_ended(self):
        stop = self.file("stop", b"")  # never removed: the run was killed before it could
        wal = os.path.join(self.dir, "wal")
        os.mkdir(wal)
        with open(os.path.join(wal, "000000010000000000000001"), "wb") as f:
            f.write(b"left")
        # A process that is not this one's child (reaped by init when it ends, never a zombie here).
        pid = subprocess.run(["sh", "-c", "sleep 0.3 >/dev/null & echo $!"], capture_output=True, text=True).stdout
        r = subprocess.run(
            [sys.executable, "-I", "-S", SCRIPT, "--follow", wal, stop, "1", pid.strip()],
            capture_output=True,
            timeout=20,
        )
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.listdir(wal), ["000000010000000000000001.gz"])

    def test_refuses_bad_follow_arguments(self):
        for args in (["--follow", self.dir, "stop"], ["--follow", self.dir, "stop", "10"], ["--sums"]):
            r = subprocess.run([sys.executable, "-I", "-S", SCRIPT, *args], capture_output=True)
            self.assertEqual(r.returncode, 2, args)


if __name__ == "__main__":
    unittest.main()
