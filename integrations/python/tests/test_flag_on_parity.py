"""With the flag on, an ADW script gets what the original gives it: printed lines, response,
files, claude's arguments, environment and directory, the version's execute_template model, and
tac-7's retry loop (replaced by agents-sdk's, with the same outcome; every attempt's stream kept).
Runs the real agents-sdk CLI (dist/cli.js) and the fake claude."""

import json
import os

import pytest

from adw_tree import install, run_probe, write_checkout


@pytest.fixture
def checkout(tmp_path):
    def make(version):
        root = str(tmp_path / "project")
        install(write_checkout(root, version))
        return root

    return make


def on(env, **extra):
    return {**env, "USE_AGENTS_SDK": "true", **extra}


def prompt(root, text, **fields):
    request = {"prompt": text, "adw_id": "a1b2c3d4", "agent_name": "sdlc_planner", "model": "opus", "output_file": os.path.join(root, "agents", "a1b2c3d4", "sdlc_planner", "raw_output.jsonl")}
    request.update(fields)
    return {"kind": "prompt", "request": request}


@pytest.mark.parametrize("version", ["tac-5", "tac-6"])
def test_tac5_tac6_print_the_originals_lines_and_nothing_else(checkout, base_env, version):
    root = checkout(version)
    call = prompt(root, "/feature 42 a1b2c3d4 [[reply:planned]]")
    proc, got = run_probe(root, call, on(base_env))
    out = call["request"]["output_file"]
    assert proc.stdout == (
        f"Saved prompt to: {os.path.join(root, 'agents', 'a1b2c3d4', 'sdlc_planner', 'prompts', 'feature.txt')}\n"
        f"Output saved to: {out}\n"
        f"Created JSON file: {out.replace('.jsonl', '.json')}\n"
    )
    assert proc.stderr == ""
    assert (got["output"], got["success"]) == ("planned", True)


def test_tac7_prints_nothing_and_claude_gets_the_originals_arguments_and_environment(checkout, base_env, claude):
    root = checkout("tac-7")
    proc, got = run_probe(root, prompt(root, "/feature 42 [[reply:planned]]", dangerously_skip_permissions=True), on(base_env, GITHUB_PAT="pat"))
    assert (proc.stdout, proc.stderr) == ("", "")
    assert (got["output"], got["success"], got["retry_code"]) == ("planned", True, "none")
    [run] = claude.runs()
    assert run["argv"] == ["-p", "/feature 42 [[reply:planned]]", "--model", "opus", "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions"]
    assert "SECRET_OF_THE_PARENT" not in run["env"]
    assert "AGENTS_SDK_CLI" not in run["env"] and "USE_AGENTS_SDK" not in run["env"]
    assert run["env"]["CLAUDE_BASH_MAINTAIN_PROJECT_WORKING_DIR"] == "true"
    assert run["env"]["GH_TOKEN"] == "pat"
    assert run["env"]["PWD"] == root
    # agents-sdk's own files are not in ADW's agents/ (only the prompt, output_file and its .json)
    assert sorted(os.listdir(os.path.join(root, "agents", "a1b2c3d4", "sdlc_planner"))) == ["prompts", "raw_output.json", "raw_output.jsonl"]


def test_a_failure_prints_on_stderr_as_the_original_does(checkout, base_env):
    root = checkout("tac-5")
    proc, got = run_probe(root, prompt(root, "[[once:crash]]"), on(base_env))
    assert (got["output"], got["success"], got["session_id"]) == ("Claude Code error: boom\n", False, None)
    assert proc.stderr == "Claude Code error: boom\n\n"
    assert proc.stdout == ""


def test_the_prompt_file_goes_under_the_project_root_from_any_directory(checkout, base_env, tmp_path):
    root = checkout("tac-7")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    import subprocess
    import sys

    out = str(tmp_path / "probe.json")
    call = prompt(root, "/implement plan.md [[reply:ok]]")
    subprocess.run([sys.executable, os.path.join(root, "adws", "adw_probe.py"), json.dumps(call)], cwd=str(elsewhere), env={**on(base_env), "PROBE_OUT": out}, check=True, capture_output=True)
    assert os.path.exists(os.path.join(root, "agents", "a1b2c3d4", "sdlc_planner", "prompts", "implement.txt"))
    assert not os.path.exists(elsewhere / "agents")


@pytest.mark.parametrize(
    "version,template,state,model",
    [
        ("tac-5", {"slash_command": "/implement"}, None, "sonnet"),
        ("tac-5", {"slash_command": "/classify_issue", "model": "opus"}, None, "opus"),
        ("tac-6", {"slash_command": "/review"}, None, "opus"),
        ("tac-7", {"slash_command": "/implement"}, None, "sonnet"),
        ("tac-7", {"slash_command": "/implement"}, {"model_set": "heavy"}, "opus"),
    ],
)
def test_execute_template_picks_the_model_as_the_version_does(checkout, base_env, claude, version, template, state, model):
    root = checkout(version)
    if state:
        os.makedirs(os.path.join(root, "agents", "a1b2c3d4"), exist_ok=True)
        with open(os.path.join(root, "agents", "a1b2c3d4", "adw_state.json"), "w") as f:
            json.dump({"adw_id": "a1b2c3d4", **state}, f)
    call = {"kind": "template", "request": {"agent_name": "sdlc_implementor", "args": ["[[reply:done]]"], "adw_id": "a1b2c3d4", **template}}
    proc, got = run_probe(root, call, on(base_env))
    assert (got["output"], got["success"]) == ("done", True), proc.stderr
    [run] = claude.runs()
    assert run["argv"][3] == model
    assert os.path.exists(os.path.join(root, "agents", "a1b2c3d4", "sdlc_implementor", "raw_output.json"))


def test_tac7_working_dir_runs_claude_there_with_its_mcp_config(checkout, base_env, claude, tmp_path):
    root = checkout("tac-7")
    wt = tmp_path / "trees" / "a1b2c3d4"
    wt.mkdir(parents=True)
    (wt / ".mcp.json").write_text('{"mcpServers":{}}')
    call = {"kind": "template", "request": {"agent_name": "sdlc_implementor", "slash_command": "/implement", "args": ["[[reply:done]]"], "adw_id": "a1b2c3d4", "working_dir": str(wt)}}
    proc, got = run_probe(root, call, on(base_env))
    assert got["success"] is True, proc.stderr
    [run] = claude.runs()
    assert run["cwd"] == str(wt)
    assert run["argv"][4:] == ["--output-format", "stream-json", "--verbose", "--mcp-config", str(wt / ".mcp.json"), "--dangerously-skip-permissions"]


@pytest.mark.parametrize("first", ["crash", "edx"])
def test_tac7_retry_ends_in_success_after_a_crash_or_an_error_during_execution(checkout, base_env, claude, tmp_path, first):
    root = checkout("tac-7")
    state = str(tmp_path / "sdk-state")
    call = {**prompt(root, f"[[once:{first}]] [[reply:second time]]"), "kind": "retry", "retry": {"retry_delays": [0, 0, 0]}}
    proc, got = run_probe(root, call, on(base_env, AGENTS_SDK_DIR=state))
    assert (got["output"], got["success"], got["retry_code"]) == ("second time", True, "none"), proc.stderr
    assert len(claude.runs()) == 2
    # every attempt's raw stream is kept, the last one is output_file
    attempts = os.path.join(state, "a1b2c3d4", "sdlc_planner")
    first_stream = open(os.path.join(attempts, "raw_output.jsonl")).read()
    second_stream = open(os.path.join(attempts, "raw_output.attempt-2.jsonl")).read()
    assert ("error_during_execution" in first_stream) == (first == "edx")
    assert "second time" in second_stream
    assert open(call["request"]["output_file"]).read() == second_stream


def test_tac7_retry_with_the_flag_off_is_the_original_loop(checkout, base_env, claude):
    root = checkout("tac-7")
    call = {**prompt(root, "[[reply:x]]"), "kind": "retry", "retry": {"retry_delays": [0, 0, 0]}}
    proc, got = run_probe(root, call, base_env)
    assert (got["output"], got["success"]) == ("original: [[reply:x]]", True)
    assert claude.runs() == []
