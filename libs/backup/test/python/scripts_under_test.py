"""What the Python unit tests share: a script of ../../scripts loaded as a module (its main not
run), and a scratch directory per test. Not a test module itself (run_tests.py finds test_*.py)."""

import importlib.util
import os
import shutil
import tempfile
import unittest

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts")


def load_script(name):
    """(path, module) of scripts/<name>.py."""
    path = os.path.join(SCRIPTS, f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return path, module


class ScratchDirTest(unittest.TestCase):
    """A test with its own temporary directory (self.dir), removed afterwards."""

    prefix = "bitpin-test-"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix=self.prefix)
        self.addCleanup(shutil.rmtree, self.dir)

    def file(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path
