"""prompt_claude_code_v2 / execute_template_v2 against a stand-in ADW and a stand-in CLI."""

import dataclasses
import json
import os
import shlex
import sys

import pytest

import agents_sdk_compat as compat
from adws.adw_modules import agent as original
from adws.adw_modules.data_types import AgentPromptRequest, AgentPromptResponse, AgentTemplateRequest

FAKE_CLI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_agents_sdk.py")

FIELDS = {
    "prompt": "/feature 14 abc12345 {}",
    "adw_id": "abc12345",
    "agent_name": "sdlc_planner",
    "model": "opus",
    "dangerously_skip_permissions": True,
    "output_file": "agents/abc12345/sdlc_planner/raw_output.jsonl",
}


@dataclasses.dataclass
class DataclassRequest:
    prompt: str
    adw_id: str
    agent_name: str
    model: str
    dangerously_skip_permissions: bool
    output_file: str


@pytest.fixture
def sdk(tmp_path, monkeypatch):
    """Flag on, the stand-in CLI as AGENTS_SDK_CLI; returns a reader of its log."""
    log = tmp_path / "cli.log"
    monkeypatch.setenv("USE_AGENTS_SDK", "true")
    monkeypatch.setenv("AGENTS_SDK_CLI", f"{shlex.quote(sys.executable)} {shlex.quote(FAKE_CLI)}")
    monkeypatch.setenv("FAKE_AGENTS_SDK_LOG", str(log))
    monkeypatch.delenv("AGENTS_SDK_STATE_DIR", raising=False)
    monkeypatch.delenv("FAKE_AGENTS_SDK_MODE", raising=False)

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


@pytest.fixture(autouse=True)
def clean_original():
    original.calls.clear()
    yield
    original.calls.clear()


@pytest.mark.parametrize("flag", [None, "false", "0", "False"])
def test_flag_off_calls_the_original_and_returns_its_response(monkeypatch, flag):
    if flag is None:
        monkeypatch.delenv("USE_AGENTS_SDK", raising=False)
    else:
        monkeypatch.setenv("USE_AGENTS_SDK", flag)
    monkeypatch.setenv("AGENTS_SDK_CLI", "/nonexistent/agents-sdk")
    request = AgentPromptRequest(**FIELDS)
    response = compat.prompt_claude_code_v2(request)
    assert response == AgentPromptResponse(output=f"original: {FIELDS['prompt']}", success=True, session_id="original-session")
    assert original.calls == [("prompt_claude_code", request)]


@pytest.mark.parametrize(
    "make",
    [AgentPromptRequest, lambda **kw: DataclassRequest(**kw), lambda **kw: dict(kw)],
    ids=["pydantic-like", "dataclass", "dict"],
)
def test_flag_on_sends_the_request_json_and_maps_the_response(sdk, make):
    response = compat.prompt_claude_code_v2(make(**FIELDS))
    assert isinstance(response, AgentPromptResponse)
    assert response == AgentPromptResponse(output=f"sdk: {FIELDS['prompt']}", success=True, session_id="sdk-session", retry_code="none")
    [call] = sdk()
    assert call["request"] == FIELDS
    assert call["argv"] == ["prompt", "--json"]
    assert original.calls == []


def test_flag_on_without_the_adw_types_returns_a_dict(sdk, monkeypatch):
    monkeypatch.setattr(compat, "_response_type", lambda: None)
    response = compat.prompt_claude_code_v2(dict(FIELDS))
    assert response == {"output": f"sdk: {FIELDS['prompt']}", "success": True, "session_id": "sdk-session", "retry_code": "none"}


def test_retry_code_is_dropped_when_the_callers_type_has_none(sdk, monkeypatch):
    @dataclasses.dataclass
    class OldResponse:
        output: str
        success: bool
        session_id: object = None

    monkeypatch.setattr(compat, "_response_type", lambda: OldResponse)
    assert compat.prompt_claude_code_v2(dict(FIELDS)) == OldResponse(f"sdk: {FIELDS['prompt']}", True, "sdk-session")


def test_state_dir_is_passed_through(sdk, monkeypatch, tmp_path):
    monkeypatch.setenv("AGENTS_SDK_STATE_DIR", str(tmp_path / "state"))
    compat.prompt_claude_code_v2(dict(FIELDS))
    assert sdk()[0]["argv"] == ["prompt", "--json", "--state-dir", str(tmp_path / "state")]


def test_cli_error_json_gives_success_false_with_its_message(sdk, monkeypatch):
    monkeypatch.setenv("FAKE_AGENTS_SDK_MODE", "error")
    response = compat.prompt_claude_code_v2(dict(FIELDS))
    assert (response.success, response.output, response.session_id, response.retry_code) == (False, "Claude Code error: boom", None, "claude_code_error")


def test_cli_crash_gives_success_false_with_stderr(sdk, monkeypatch):
    monkeypatch.setenv("FAKE_AGENTS_SDK_MODE", "crash")
    response = compat.prompt_claude_code_v2(dict(FIELDS))
    assert response.success is False
    assert response.output == "agents-sdk error: agents-sdk: internal failure"
    assert response.session_id is None


def test_unreadable_cli_output_gives_success_false(sdk, monkeypatch):
    monkeypatch.setenv("FAKE_AGENTS_SDK_MODE", "garbage")
    response = compat.prompt_claude_code_v2(dict(FIELDS))
    assert response.success is False
    assert "unreadable response" in response.output


def test_missing_cli_gives_success_false(monkeypatch, tmp_path):
    monkeypatch.setenv("USE_AGENTS_SDK", "true")
    monkeypatch.setenv("AGENTS_SDK_CLI", str(tmp_path / "no-such-agents-sdk"))
    response = compat.prompt_claude_code_v2(dict(FIELDS))
    assert response.success is False
    assert response.output == f"Error: agents-sdk CLI is not installed. Expected at: {tmp_path / 'no-such-agents-sdk'}"


def test_agents_sdk_on_path_is_the_default(monkeypatch):
    monkeypatch.delenv("AGENTS_SDK_CLI", raising=False)
    assert os.path.basename(compat.cli_command()[0]) == "agents-sdk"
    monkeypatch.setenv("AGENTS_SDK_CLI", "node '/opt/my sdk/dist/cli.js'")
    assert compat.cli_command() == ["node", "/opt/my sdk/dist/cli.js"]


def test_execute_template_flag_off_calls_the_original(monkeypatch):
    monkeypatch.delenv("USE_AGENTS_SDK", raising=False)
    request = AgentTemplateRequest(agent_name="sdlc_implementor", slash_command="/implement", args=["plan.md"], adw_id="abc12345", model="sonnet")
    assert compat.execute_template_v2(request).output == "original template: /implement"
    assert original.calls == [("execute_template", request)]


def test_execute_template_flag_on_builds_the_originals_prompt(sdk, monkeypatch, tmp_path):
    monkeypatch.setenv("AGENTS_SDK_PROJECT_ROOT", str(tmp_path))
    request = AgentTemplateRequest(agent_name="sdlc_implementor", slash_command="/implement", args=["specs/plan.md", "x"], adw_id="abc12345", model="sonnet")
    response = compat.execute_template_v2(request)
    assert response.success is True
    assert sdk()[0]["request"] == {
        "prompt": "/implement specs/plan.md x",
        "adw_id": "abc12345",
        "agent_name": "sdlc_implementor",
        "model": "opus",
        "dangerously_skip_permissions": True,
        "output_file": str(tmp_path / "agents/abc12345/sdlc_implementor/raw_output.jsonl"),
    }
