"""Fixtures: the shim importable for unit tests, ADW checkouts in the real layout, the real
agents-sdk CLI (dist/cli.js, built by `npm run build`) and a claude that notes its runs."""

import json
import os
import shlex
import shutil
import stat
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

FAKE_CLAUDE = os.path.join(REPO, "test", "fixtures", "fake-claude", "claude")
CLI = os.path.join(REPO, "dist", "cli.js")


class Claude:
    """The claude of a test: its path and the runs it noted."""

    def __init__(self, root):
        self.dir = os.path.join(root, "claude-bin")
        os.makedirs(self.dir)
        self.path = os.path.join(self.dir, "claude")
        shutil.copyfile(os.path.join(HERE, "fake_claude_wrapper.py"), self.path)
        os.chmod(self.path, os.stat(self.path).st_mode | stat.S_IXUSR)
        self.log = os.path.join(root, "claude-runs.jsonl")
        state = os.path.join(root, "fake-state")
        os.makedirs(state)
        with open(os.path.join(self.dir, "wrapper.json"), "w") as f:
            json.dump({"fake": FAKE_CLAUDE, "log": self.log, "state": state}, f)

    def runs(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f]


@pytest.fixture
def claude(tmp_path):
    return Claude(str(tmp_path))


@pytest.fixture
def base_env(claude):
    """The environment of an ADW script: the real CLI as AGENTS_SDK_CLI, CLAUDE_CODE_PATH at the noting claude, the flag unset
    (and AGENTS_SDK_STATE_DIR=agents, as a user sharing ADW's directory with workflows has it: the shim's files must not go there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("USE_AGENTS_SDK", "AGENTS_SDK_", "FAKE_"))}
    env.update({
        "AGENTS_SDK_CLI": f"node {shlex.quote(CLI)}",
        "CLAUDE_CODE_PATH": claude.path,
        "PYTHONDONTWRITEBYTECODE": "1",
        "SECRET_OF_THE_PARENT": "must-not-reach-claude",
        "AGENTS_SDK_STATE_DIR": "agents",
    })
    return env
