"""bitpin_sha256.py: SHA-256 lists like sha256sum's, in one process."""

import hashlib
import io
import os
import subprocess
import sys
import unittest

from scripts_under_test import ScratchDirTest, load_script

SCRIPT, sha256 = load_script("bitpin_sha256")

EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
# FIPS 180-2's long message: one million "a".
MILLION_A = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"


class Sha256Test(ScratchDirTest):
    prefix = "bitpin-sha256-"

    def test_known_digests(self):
        self.assertEqual(sha256.sha256_file(self.file("empty", b"")), EMPTY)
        self.assertEqual(sha256.sha256_file(self.file("abc", b"abc")), ABC)
        self.assertEqual(sha256.sha256_file(self.file("a", b"a" * 1_000_000)), MILLION_A)

    def test_files_larger_than_the_buffer_and_a_small_reused_buffer(self):
        data = os.urandom(3 * sha256.BUFFER + 12345)
        path = self.file("big", data)
        self.assertEqual(sha256.sha256_file(path), hashlib.sha256(data).hexdigest())
        self.assertEqual(sha256.sha256_file(path, bytearray(4096)), hashlib.sha256(data).hexdigest())

    def test_one_changed_byte_changes_the_digest(self):
        data = bytearray(b"bitpin " * 10000)
        first = sha256.sha256_file(self.file("x", bytes(data)))
        data[5000] ^= 1
        self.assertNotEqual(sha256.sha256_file(self.file("y", bytes(data))), first)

    def test_lists_lines_like_sha256sum(self):
        self.file("abc", b"abc")
        self.file("name with space", b"")
        out = io.StringIO()
        cwd = os.getcwd()
        os.chdir(self.dir)
        try:
            sha256.main(["abc", "name with space"], out)
        finally:
            os.chdir(cwd)
        self.assertEqual(out.getvalue(), "%s  abc\n%s  name with space\n" % (ABC, EMPTY))

    def test_runs_as_lib_sh_runs_it(self):
        self.file("abc", b"abc")
        r = subprocess.run(
            [sys.executable, "-I", "-S", os.path.abspath(SCRIPT), "abc"], cwd=self.dir, capture_output=True, check=False
        )
        self.assertEqual((r.returncode, r.stdout), (0, ("%s  abc\n" % ABC).encode()))

    def test_a_missing_file_fails_the_run(self):
        self.file("abc", b"abc")
        r = subprocess.run(
            [sys.executable, "-I", "-S", os.path.abspath(SCRIPT), "abc", "missing"],
            cwd=self.dir,
            capture_output=True,
            check=False,
        )
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"missing", r.stderr)
        with self.assertRaises(FileNotFoundError):
            sha256.sha256_file(os.path.join(self.dir, "missing"))


if __name__ == "__main__":
    unittest.main()
