"""bitpin_inflate.py: gzip inflated through zlib (concatenated members too), the compressed bytes
copied and hashed in the same read, and a tar stream extracted as it arrives, refusing what a
backup archive never holds (paths outside the target, members below a symbolic link, hard links,
damaged headers, truncated streams)."""

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zlib

from scripts_under_test import load_script

SCRIPT, inflate = load_script("bitpin_inflate")

PAYLOAD = b"bitpin " * 50_000 + bytes(300_000) + os.urandom(70_000)


class Trickle(io.RawIOBase):
    """A stream that gives at most `piece` bytes a read, as a slow pipe does."""

    def __init__(self, data, piece):
        self.data, self.piece, self.pos = data, piece, 0

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.piece if n < 0 else min(n, self.piece)
        b = self.data[self.pos : self.pos + n]
        self.pos += len(b)
        return b


def inflated(data, **kwargs):
    out = bytearray()
    inflate.inflate(io.BytesIO(data), out.extend, **kwargs)
    return bytes(out)


def tar_bytes(members, fmt=tarfile.GNU_FORMAT):
    """A tar archive of (TarInfo, data or None) pairs, as bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def member(name, data=None, kind=tarfile.REGTYPE, mode=0o640, mtime=1_700_000_000, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.linkname = kind, mode, mtime, link
    return info, data


class InflateTest(unittest.TestCase):
    def test_inflates_one_member(self):
        self.assertEqual(inflated(gzip.compress(PAYLOAD)), PAYLOAD)

    def test_inflates_concatenated_members(self):
        data = gzip.compress(PAYLOAD[:1000]) + gzip.compress(PAYLOAD[1000:]) + gzip.compress(b"")
        self.assertEqual(inflated(data), PAYLOAD)

    def test_inflates_a_stream_that_arrives_in_small_pieces(self):
        data = gzip.compress(PAYLOAD[:5000]) + gzip.compress(PAYLOAD[5000:])
        for piece in (7, 511, 4096):
            out = bytearray()
            inflate.inflate(Trickle(data, piece), out.extend)
            self.assertEqual(bytes(out), PAYLOAD, piece)
        short = gzip.compress(PAYLOAD[:3000]) + gzip.compress(PAYLOAD[3000:6000])
        out = bytearray()
        inflate.inflate(Trickle(short, 1), out.extend)  # one byte a read
        self.assertEqual(bytes(out), PAYLOAD[:6000])

    def test_copies_and_hashes_the_compressed_bytes(self):
        data = gzip.compress(PAYLOAD)
        copy, sha = io.BytesIO(), hashlib.sha256()
        self.assertEqual(inflated(data, copy=copy, sha=sha), PAYLOAD)
        self.assertEqual(copy.getvalue(), data)
        self.assertEqual(sha.hexdigest(), hashlib.sha256(data).hexdigest())

    def test_refuses_a_truncated_stream(self):
        data = gzip.compress(PAYLOAD)
        for cut in (len(data) - 1, len(data) // 2, 10):
            with self.assertRaisesRegex(inflate.Failure, "gzip stream truncated"):
                inflated(data[:cut])

    def test_refuses_a_truncated_second_member(self):
        data = gzip.compress(PAYLOAD[:1000]) + gzip.compress(PAYLOAD[1000:])
        with self.assertRaisesRegex(inflate.Failure, "gzip stream truncated"):
            inflated(data[:-4])

    def test_refuses_damaged_data(self):
        data = bytearray(gzip.compress(PAYLOAD))
        data[len(data) // 2] ^= 0xFF
        with self.assertRaises((zlib.error, inflate.Failure)):
            inflated(bytes(data))
        with self.assertRaises(zlib.error):
            inflated(b"not gzip at all, not even close")


class UntarTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="bitpin-untar-")
        self.addCleanup(shutil.rmtree, self.root)

    def extract(self, data, piece=None):
        u = inflate.Untar(self.root)
        step = piece or len(data) or 1
        for i in range(0, len(data), step):
            u.feed(data[i : i + step])
        u.close()

    def read(self, *parts):
        with open(os.path.join(self.root, *parts), "rb") as f:
            return f.read()

    def test_extracts_files_directories_and_symbolic_links_with_modes_and_times(self):
        data = tar_bytes(
            [
                member("base", kind=tarfile.DIRTYPE, mode=0o700, mtime=1_600_000_000),
                member("base/1/PG_VERSION", b"15\n", mode=0o600, mtime=1_650_000_000),
                member("base/empty", b""),
                member("pg_wal", kind=tarfile.SYMTYPE, link="/var/lib/postgresql/wal"),
                member("big", PAYLOAD[:100_001]),
            ]
        )
        self.extract(data)
        self.assertEqual(self.read("base", "1", "PG_VERSION"), b"15\n")
        self.assertEqual(self.read("base", "empty"), b"")
        self.assertEqual(self.read("big"), PAYLOAD[:100_001])
        self.assertEqual(os.readlink(os.path.join(self.root, "pg_wal")), "/var/lib/postgresql/wal")
        st = os.stat(os.path.join(self.root, "base", "1", "PG_VERSION"))
        self.assertEqual((st.st_mode & 0o777, int(st.st_mtime)), (0o600, 1_650_000_000))
        self.assertEqual(int(os.stat(os.path.join(self.root, "base")).st_mtime), 1_600_000_000)

    def test_extracts_a_tar_fed_one_piece_at_a_time(self):
        data = tar_bytes([member("a/b/c", PAYLOAD[:3000]), member("d", b"x" * 513)])
        for piece in (1, 100, 511, 513):
            shutil.rmtree(self.root)
            os.mkdir(self.root)
            self.extract(data, piece)
            self.assertEqual((self.read("a", "b", "c"), self.read("d")), (PAYLOAD[:3000], b"x" * 513), piece)

    def test_long_names_gnu_and_pax(self):
        deep = "/".join(["directory-with-a-long-name"] * 8) + "/file"
        target = "t/" + "x" * 150
        for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
            shutil.rmtree(self.root)
            os.mkdir(self.root)
            self.extract(tar_bytes([member(deep, b"deep"), member("l", kind=tarfile.SYMTYPE, link=target)], fmt))
            self.assertEqual(self.read(*deep.split("/")), b"deep", fmt)
            self.assertEqual(os.readlink(os.path.join(self.root, "l")), target, fmt)

    def test_ustar_prefix_field(self):
        name = "p" * 90 + "/" + "q" * 90
        self.extract(tar_bytes([member(name, b"prefixed")], tarfile.USTAR_FORMAT))
        self.assertEqual(self.read("p" * 90, "q" * 90), b"prefixed")

    def test_ignores_what_follows_the_end_of_archive(self):
        data = tar_bytes([member("f", b"data")])
        self.extract(data + b"garbage after the two zero blocks" * 100)
        self.assertEqual(self.read("f"), b"data")

    def test_reads_base_256_numbers(self):
        field = bytes([0x80]) + (8 * 2**30 + 5).to_bytes(11, "big")
        self.assertEqual(inflate.Untar.number(field), 8 * 2**30 + 5)
        self.assertEqual(inflate.Untar.number(b"00000001750\0"), 0o1750)
        self.assertEqual(inflate.Untar.number(b"\0" * 12), 0)

    def assertRefused(self, data, message):
        with self.assertRaisesRegex(inflate.Failure, message):
            self.extract(data)

    def test_refuses_a_path_outside_the_target(self):
        self.assertRefused(tar_bytes([member("a/../../evil", b"x")]), "outside the target directory")
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(self.root), "evil")))

    def test_refuses_an_absolute_path(self):
        self.assertRefused(tar_bytes([member("/tmp/bitpin-evil", b"x")]), "outside the target directory")

    def test_refuses_a_member_below_a_symbolic_link_it_made(self):
        outside = tempfile.mkdtemp(prefix="bitpin-outside-")
        self.addCleanup(shutil.rmtree, outside)
        data = tar_bytes([member("l", kind=tarfile.SYMTYPE, link=outside), member("l/evil", b"x")])
        self.assertRefused(data, "below a symbolic link")
        self.assertEqual(os.listdir(outside), [])

    def test_refuses_a_hard_link(self):
        data = tar_bytes([member("f", b"x"), member("h", kind=tarfile.LNKTYPE, link="f")])
        self.assertRefused(data, "unsupported tar member type")

    def test_refuses_a_damaged_header(self):
        data = bytearray(tar_bytes([member("f", b"x")]))
        data[10] ^= 1  # in the name: the header checksum no longer matches
        self.assertRefused(bytes(data), "checksum mismatch")

    def test_refuses_a_truncated_archive(self):
        data = tar_bytes([member("f", PAYLOAD[:5000])])
        self.assertRefused(data[: 512 + 1000], "tar stream truncated")
        self.assertRefused(data[:300], "tar stream truncated")


class MainTest(unittest.TestCase):
    """The program as lib.sh runs it: python3 -I -S bitpin_inflate.py [COPY_TO [SHA_OUT [DEST]]]."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bitpin-inflate-")
        self.addCleanup(shutil.rmtree, self.dir)

    def run_script(self, data, *args):
        cmd = [sys.executable, "-I", "-S", os.path.abspath(SCRIPT), *args]
        return subprocess.run(cmd, input=data, capture_output=True, check=False)

    def test_stdin_to_stdout(self):
        r = self.run_script(gzip.compress(PAYLOAD))
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, PAYLOAD, b""))

    def test_copy_sha_and_extract(self):
        data = gzip.compress(tar_bytes([member("base/f", PAYLOAD)]))
        copy, sha, dest = (os.path.join(self.dir, n) for n in ("copy.tar.gz", "sha", "dest"))
        os.mkdir(dest)
        r = self.run_script(data, copy, sha, dest)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"", b""))
        with open(copy, "rb") as f:
            self.assertEqual(f.read(), data)
        with open(sha) as f:
            self.assertEqual(f.read(), hashlib.sha256(data).hexdigest() + "\n")
        with open(os.path.join(dest, "base", "f"), "rb") as f:
            self.assertEqual(f.read(), PAYLOAD)

    def test_empty_arguments_mean_not_wanted(self):
        sha = os.path.join(self.dir, "sha")
        # One stream: gzip.compress stamps the current time into its header, so two calls a
        # second apart differ (and so would their SHA-256).
        data = gzip.compress(PAYLOAD)
        r = self.run_script(data, "", sha)
        self.assertEqual((r.returncode, r.stdout), (0, PAYLOAD))
        with open(sha) as f:
            self.assertEqual(f.read().strip(), hashlib.sha256(data).hexdigest())

    def test_a_truncated_stream_fails_with_one_line_and_writes_no_sum(self):
        sha = os.path.join(self.dir, "sha")
        r = self.run_script(gzip.compress(PAYLOAD)[:-10], "", sha)
        self.assertEqual((r.returncode, r.stderr), (1, b"bitpin inflate: gzip stream truncated\n"))
        self.assertFalse(os.path.exists(sha))

    def test_an_unsafe_archive_fails_with_one_line(self):
        dest = os.path.join(self.dir, "dest")
        os.mkdir(dest)
        r = self.run_script(gzip.compress(tar_bytes([member("../evil", b"x")])), "", "", dest)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, rb"^bitpin inflate: refusing tar member outside the target directory: b'../evil'\n$")


if __name__ == "__main__":
    unittest.main()
