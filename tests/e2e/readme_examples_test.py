"""The README's client examples ("Clients in other languages"), run as written.

Each block marked `<!-- example: LANG -->` in README.md is pasted into bash at
the top of a fresh copy of the tree (no gen/, no NODE_PATH, no PYTHONPATH),
against a real followgate_server on the sandbox, and must print exactly the
block marked `<!-- output: LANG -->` that follows it. So the README cannot
drift from what works.
"""

import os
import re
import shutil
import subprocess
import unittest

import junit
from harness import Sandbox, Server, runfile, temp_dir

_README = runfile("README.md")


def readme_block(kind, lang):
    """The fenced block after `<!-- kind: lang -->` in README.md."""
    with open(_README) as f:
        text = f.read()
    match = re.search(r"^<!-- %s: %s -->\n```[a-z]*\n(.*?)^```$" % (kind, lang), text,
                      re.MULTILINE | re.DOTALL)
    if match is None:
        raise AssertionError("README.md has no block marked <!-- %s: %s -->" % (kind, lang))
    return match.group(1)


def fresh_clone():
    """A copy of the files a clone holds that the examples use (real files, not
    the runfiles' symlinks, so nothing resolves back into the source tree), and
    .tools/node_modules as scripts/install_deps.sh leaves it."""
    root = os.path.join(temp_dir(), "followgate")
    for folder in ("client/python", "client/node", "protos/followgate"):
        shutil.copytree(runfile(folder), os.path.join(root, folder))
    os.makedirs(os.path.join(root, "scripts"))
    shutil.copy(runfile("scripts/gen_python.sh"), os.path.join(root, "scripts"))
    shutil.copy(_README, root)
    os.makedirs(os.path.join(root, ".tools"))
    os.symlink(runfile("../node_modules"), os.path.join(root, ".tools", "node_modules"))
    return root


class ReadmeExamplesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The quick start's demo page: 25,000 member and 1,500 page followers.
        cls.sandbox = Sandbox(pages="1000:25000:1500")
        cls.server = Server(cls.sandbox, interval="0.05s")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.sandbox.stop()

    def run_example(self, lang):
        clone = fresh_clone()
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NODE_PATH")}
        env["FOLLOWGATE_SERVER"] = self.server.target
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_block("example", lang)],
                                cwd=clone, env=env, capture_output=True, text=True, timeout=240)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(result.stdout, readme_block("output", lang), result.stderr)
        return clone

    def test_python_example_prints_what_the_readme_says_from_a_fresh_clone(self):
        clone = self.run_example("python")
        self.assertTrue(os.path.exists(
            os.path.join(clone, "gen", "followgate", "v1", "invitations_pb2.py")))

    def test_node_example_prints_what_the_readme_says_without_node_path(self):
        self.run_example("node")


if __name__ == "__main__":
    junit.main()
