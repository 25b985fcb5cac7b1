"""bitpin_gzip.py: files compressed in place as the incremental run publishes WAL."""

import gzip
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "bitpin_gzip.py")
spec = importlib.util.spec_from_file_location("bitpin_gzip", SCRIPT)
bgzip = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bgzip)


class GzipTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bitpin-gzip-")
        self.addCleanup(shutil.rmtree, self.dir)

    def file(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

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


if __name__ == "__main__":
    unittest.main()
