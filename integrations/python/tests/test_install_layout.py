"""The install step in an ADW checkout of the real layout (scripts run by path, adws/ not a
package), for tac-5, tac-6 and tac-7: the caller's own AgentPromptResponse comes back, with the
flag off (the original ran) and on (agents-sdk ran)."""

import os

import pytest

from adw_tree import install, run_probe, write_checkout

VERSIONS = ["tac-5", "tac-6", "tac-7"]


def prompt_call(root, prompt="[[reply:hi]]"):
    return {"kind": "prompt", "request": {"prompt": prompt, "adw_id": "a1b2c3d4", "agent_name": "sdlc_planner", "output_file": os.path.join(root, "out", "raw_output.jsonl")}}


@pytest.mark.parametrize("version", VERSIONS)
def test_one_install_step_adds_one_line_and_uninstall_puts_it_back(tmp_path, version):
    adws = write_checkout(str(tmp_path), version)
    agent = os.path.join(adws, "adw_modules", "agent.py")
    before = open(agent).read()
    assert not os.path.exists(os.path.join(adws, "__init__.py"))
    assert "installed" in install(adws).stdout
    install(adws)  # twice: still one line
    after = open(agent).read()
    assert after == before + "from .agents_sdk_compat import install; install(globals())  # agents-sdk\n"
    assert os.path.exists(os.path.join(adws, "adw_modules", "agents_sdk_compat.py"))
    import subprocess
    import sys
    from adw_tree import SHIM

    subprocess.run([sys.executable, SHIM, "uninstall", adws], check=True, capture_output=True)
    assert open(agent).read() == before
    assert not os.path.exists(os.path.join(adws, "adw_modules", "agents_sdk_compat.py"))


@pytest.mark.parametrize(
    "version,flag",
    [(v, None) for v in VERSIONS] + [("tac-7", f) for f in ["false", "0", "no", "off", "", "2"]],
)
def test_flag_off_runs_the_original_and_returns_the_callers_class(tmp_path, base_env, claude, version, flag):
    root = str(tmp_path)
    install(write_checkout(root, version))
    env = dict(base_env) if flag is None else {**base_env, "USE_AGENTS_SDK": flag}
    proc, got = run_probe(root, prompt_call(root), env)
    assert proc.returncode == 0, proc.stderr
    assert got["type"] == "adw_modules.data_types.AgentPromptResponse"
    assert got["isinstance"] is True
    assert (got["output"], got["success"], got["session_id"]) == ("original: [[reply:hi]]", True, "original-session")
    assert os.path.exists(os.path.join(root, "original-calls.jsonl"))
    assert claude.runs() == []
    assert proc.stdout == ""


@pytest.mark.parametrize("version,flag", [("tac-5", "1"), ("tac-6", "True"), ("tac-7", "yes"), ("tac-7", "ON"), ("tac-5", " on ")])
def test_flag_on_runs_agents_sdk_and_returns_the_callers_class(tmp_path, base_env, claude, version, flag):
    root = str(tmp_path)
    install(write_checkout(root, version))
    proc, got = run_probe(root, prompt_call(root), {**base_env, "USE_AGENTS_SDK": flag})
    assert proc.returncode == 0, proc.stderr
    assert got["type"] == "adw_modules.data_types.AgentPromptResponse"
    assert got["isinstance"] is True
    assert (got["output"], got["success"]) == ("hi", True)
    assert got["retry_code"] == ("none" if version == "tac-7" else None)
    assert len(claude.runs()) == 1
    assert not os.path.exists(os.path.join(root, "original-calls.jsonl"))


def test_imported_v2_functions_find_the_agent_module_of_a_script_layout(tmp_path, base_env, claude):
    """Callers that import prompt_claude_code_v2 instead of installing: adw_modules.agent is found."""
    root = str(tmp_path)
    adws = write_checkout(root, "tac-6")
    import shutil

    from adw_tree import SHIM

    shutil.copyfile(SHIM, os.path.join(adws, "agents_sdk_compat.py"))
    with open(os.path.join(adws, "adw_v2.py"), "w") as f:
        f.write(
            "import json, sys\n"
            "from agents_sdk_compat import prompt_claude_code_v2, execute_template_v2\n"
            "from adw_modules.data_types import AgentPromptRequest, AgentPromptResponse, AgentTemplateRequest\n"
            f"r = prompt_claude_code_v2(AgentPromptRequest(prompt='[[reply:v2]]', adw_id='a1', output_file={os.path.join(root, 'o.jsonl')!r}))\n"
            "t = execute_template_v2(AgentTemplateRequest(agent_name='x', slash_command='/chore', args=['[[reply:t]]'], adw_id='a1'))\n"
            "print(json.dumps([isinstance(r, AgentPromptResponse), r.output, isinstance(t, AgentPromptResponse), t.output]))\n"
        )
    import subprocess
    import sys

    off = subprocess.run([sys.executable, "adws/adw_v2.py"], cwd=root, env=base_env, capture_output=True, text=True)
    assert off.stdout.strip() == '[true, "original: [[reply:v2]]", true, "original: /chore [[reply:t]]"]', off.stderr
    on = subprocess.run([sys.executable, "adws/adw_v2.py"], cwd=root, env={**base_env, "USE_AGENTS_SDK": "true"}, capture_output=True, text=True)
    assert on.stdout.strip().splitlines()[-1] == '[true, "v2", true, "t"]', on.stderr
