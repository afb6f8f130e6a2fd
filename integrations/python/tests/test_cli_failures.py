"""Failures of the agents-sdk CLI itself (not of claude) with the flag on: a response with
success false and the message, never an exception; the CLI's arguments."""

import json
import os
import shlex
import sys

import pytest

from adw_tree import install, run_probe, write_checkout

FAKE_CLI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_agents_sdk.py")


@pytest.fixture
def root(tmp_path):
    root = str(tmp_path / "project")
    install(write_checkout(root, "tac-7"))
    return root


def call(root):
    return {"kind": "prompt", "request": {"prompt": "hello", "adw_id": "a1", "output_file": os.path.join(root, "o.jsonl")}}


def fake_env(base_env, tmp_path, mode):
    return {**base_env, "USE_AGENTS_SDK": "1", "AGENTS_SDK_CLI": f"{shlex.quote(sys.executable)} {shlex.quote(FAKE_CLI)}", "FAKE_AGENTS_SDK_MODE": mode, "FAKE_AGENTS_SDK_LOG": str(tmp_path / "cli.log")}


def test_the_cli_gets_the_version_the_project_root_and_the_state_dir(root, base_env, tmp_path):
    env = {**fake_env(base_env, tmp_path, "ok"), "AGENTS_SDK_DIR": str(tmp_path / "state")}
    proc, got = run_probe(root, call(root), env)
    assert (got["output"], got["success"], got["retry_code"]) == ("sdk: hello", True, "none")
    assert proc.stdout == "a line the original prints\n"
    [logged] = [json.loads(line) for line in open(tmp_path / "cli.log")]
    assert logged["argv"] == ["prompt", "--json", "--adw-version", "tac-7", "--adw-root", root, "--sdk-dir", str(tmp_path / "state")]
    assert logged["request"] == {"prompt": "hello", "adw_id": "a1", "output_file": os.path.join(root, "o.jsonl"), "agent_name": "ops", "model": "sonnet", "dangerously_skip_permissions": False, "working_dir": None}


def test_agents_sdk_adw_version_overrides_the_detected_version(root, base_env, tmp_path):
    """For an agent.py changed so much that the version guess is wrong."""
    env = {**fake_env(base_env, tmp_path, "ok"), "AGENTS_SDK_ADW_VERSION": "tac-6"}
    run_probe(root, call(root), env)
    [logged] = [json.loads(line) for line in open(tmp_path / "cli.log")]
    assert logged["argv"][2:4] == ["--adw-version", "tac-6"]


@pytest.mark.parametrize(
    "mode,output",
    [
        ("crash", "agents-sdk error: agents-sdk: internal failure"),
        ("garbage", "agents-sdk error: unreadable response on stdout: 'not json\\n'"),
    ],
)
def test_a_cli_that_fails_gives_success_false_with_its_message(root, base_env, tmp_path, mode, output):
    proc, got = run_probe(root, call(root), fake_env(base_env, tmp_path, mode))
    assert (got["output"], got["success"], got["session_id"], got["retry_code"]) == (output, False, None, "claude_code_error")


def test_a_missing_cli_gives_success_false(root, base_env, tmp_path):
    missing = str(tmp_path / "no-such-agents-sdk")
    proc, got = run_probe(root, call(root), {**base_env, "USE_AGENTS_SDK": "on", "AGENTS_SDK_CLI": missing})
    assert (got["output"], got["success"]) == (f"Error: agents-sdk CLI is not installed. Expected at: {missing}", False)


def test_a_cli_that_takes_too_long_gives_a_timeout_error(root, base_env, tmp_path):
    env = {**fake_env(base_env, tmp_path, "slow"), "AGENTS_SDK_TIMEOUT": "0.5"}
    proc, got = run_probe(root, call(root), env)
    assert (got["output"], got["success"], got["retry_code"]) == ("Error: agents-sdk timed out after 0.5 s", False, "timeout_error")


def test_the_cli_finds_agents_sdk_on_path_by_default(monkeypatch):
    import agents_sdk_compat as compat

    monkeypatch.delenv("AGENTS_SDK_CLI", raising=False)
    assert os.path.basename(compat.cli_command()[0]) == "agents-sdk"
    monkeypatch.setenv("AGENTS_SDK_CLI", "node '/opt/my sdk/dist/cli.js'")
    assert compat.cli_command() == ["node", "/opt/my sdk/dist/cli.js"]


def test_requests_may_be_dicts_or_dataclasses_and_responses_fit_the_callers_type():
    import dataclasses

    import agents_sdk_compat as compat

    @dataclasses.dataclass
    class Old:
        output: str
        success: bool
        session_id: object = None

    assert compat._to_dict({"a": 1}) == {"a": 1}
    assert compat._to_dict(Old("x", True)) == {"output": "x", "success": True, "session_id": None}
    with pytest.raises(TypeError):
        compat._to_dict(object())
    assert compat._make_response(Old, "o", False, None, "claude_code_error") == Old("o", False, None)
    assert compat._make_response(None, "o", True, "s", "none") == {"output": "o", "success": True, "session_id": "s", "retry_code": "none"}
