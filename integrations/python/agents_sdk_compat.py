"""Drop-in replacements for ADW's ``prompt_claude_code`` and ``execute_template``.

Standard library only. Callers change one import::

    from agents_sdk_compat import prompt_claude_code_v2 as prompt_claude_code

``USE_AGENTS_SDK`` (default ``false``):

- ``false`` (or unset): the original ``adws.adw_modules.agent.prompt_claude_code`` is
  imported and called unchanged; nothing of agents-sdk runs.
- ``true``: the request goes as JSON on stdin to ``agents-sdk prompt --json``, found as
  ``$AGENTS_SDK_CLI`` (a command line such as ``node /path/dist/cli.js``, split with
  :func:`shlex.split`) or else ``agents-sdk`` on ``PATH``; ``--state-dir
  $AGENTS_SDK_STATE_DIR`` is passed when that variable is set. The CLI answers with one
  ``AgentPromptResponse`` JSON object on stdout.

Requests may be ADW's pydantic models (``.model_dump()`` or ``.dict()``), dataclasses or
dicts. Responses are ADW's ``AgentPromptResponse`` when ``adws.adw_modules.data_types`` is
importable, else a plain dict with the same fields. Failures of the CLI (not found, non-zero
exit, unreadable output, timeout) become a response with ``success`` false and the message
as ``output``, as the original does for the ``claude`` CLI; they never raise.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import shutil
import subprocess
from typing import Any, Dict, List, Optional

__all__ = [
    "USE_AGENTS_SDK_ENV",
    "use_agents_sdk",
    "cli_command",
    "prompt_claude_code_v2",
    "execute_template_v2",
]

USE_AGENTS_SDK_ENV = "USE_AGENTS_SDK"
_TRUE = {"1", "true", "yes", "on"}
_REQUEST_FIELDS = ("prompt", "adw_id", "agent_name", "model", "dangerously_skip_permissions", "output_file")

# The original's slash command → model map (adws/adw_modules/agent.py); others use sonnet.
SLASH_COMMAND_MODEL_MAP = {
    "/implement": "opus",
    "/bug": "opus",
    "/feature": "opus",
    "/validate": "sonnet",
    "/commit": "sonnet",
    "/pull_request": "sonnet",
}


def use_agents_sdk() -> bool:
    """Whether ``USE_AGENTS_SDK`` asks for the agents-sdk path (``true``, ``1``, ``yes``, ``on``)."""
    return os.environ.get(USE_AGENTS_SDK_ENV, "false").strip().lower() in _TRUE


def cli_command() -> List[str]:
    """The argv prefix of the agents-sdk CLI: ``$AGENTS_SDK_CLI`` split, or ``agents-sdk``."""
    configured = os.environ.get("AGENTS_SDK_CLI", "").strip()
    if configured:
        return shlex.split(configured)
    return [shutil.which("agents-sdk") or "agents-sdk"]


def _to_dict(request: Any) -> Dict[str, Any]:
    if isinstance(request, dict):
        return dict(request)
    if hasattr(request, "model_dump"):
        return request.model_dump(mode="json") if _accepts_mode(request.model_dump) else request.model_dump()
    if hasattr(request, "dict") and callable(request.dict):
        return request.dict()
    if dataclasses.is_dataclass(request) and not isinstance(request, type):
        return dataclasses.asdict(request)
    raise TypeError(f"unsupported request type {type(request).__name__}: expected a pydantic model, a dataclass or a dict")


def _accepts_mode(fn: Any) -> bool:
    try:
        import inspect

        return "mode" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _jsonable(value: Any) -> Any:
    """Enums (e.g. a model literal held as an Enum) and paths as plain JSON values."""
    if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):
        return value.value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _response_type() -> Optional[type]:
    try:
        from adws.adw_modules.data_types import AgentPromptResponse  # type: ignore[import-not-found]
    except ImportError:
        return None
    return AgentPromptResponse


def _field_names(cls: type) -> Optional[set]:
    fields = getattr(cls, "model_fields", None)  # pydantic v2
    if isinstance(fields, dict):
        return set(fields)
    fields = getattr(cls, "__fields__", None)  # pydantic v1
    if isinstance(fields, dict):
        return set(fields)
    if dataclasses.is_dataclass(cls):
        return {f.name for f in dataclasses.fields(cls)}
    return None


def _make_response(output: str, success: bool, session_id: Optional[str], retry_code: Optional[str] = None) -> Any:
    data: Dict[str, Any] = {"output": output, "success": success, "session_id": session_id}
    if retry_code is not None:
        data["retry_code"] = retry_code
    cls = _response_type()
    if cls is None:
        return data
    names = _field_names(cls)
    if names is not None:
        # `retry_code` only when the caller's type has it (later ADW versions).
        data = {k: v for k, v in data.items() if k in names}
    return cls(**data)


def _cli_failure(message: str) -> Any:
    return _make_response(message, False, None, "claude_code_error")


def _run_cli(payload: Dict[str, Any]) -> Any:
    argv = cli_command() + ["prompt", "--json"]
    state_dir = os.environ.get("AGENTS_SDK_STATE_DIR", "").strip()
    if state_dir:
        argv += ["--state-dir", state_dir]
    timeout_env = os.environ.get("AGENTS_SDK_TIMEOUT", "").strip()
    timeout = float(timeout_env) if timeout_env else None
    try:
        proc = subprocess.run(
            argv,
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        return _cli_failure(f"Error: agents-sdk CLI is not installed. Expected at: {argv[0]}")
    except subprocess.TimeoutExpired:
        return _make_response(f"Error: agents-sdk timed out after {timeout} s", False, None, "timeout_error")
    except OSError as error:
        return _cli_failure(f"Error: could not run agents-sdk ({argv[0]}): {error}")

    parsed = _parse_response(proc.stdout)
    if parsed is not None and (proc.returncode == 0 or parsed.get("success") is False):
        # Exit 0, or the CLI's own error as JSON (exit non-zero, message on stderr).
        output = parsed.get("output")
        if not isinstance(output, str) or (not output and proc.returncode != 0):
            output = _stderr_message(proc.stderr) or f"agents-sdk exited with code {proc.returncode}"
        return _make_response(
            output,
            bool(parsed.get("success")) and proc.returncode == 0,
            parsed.get("session_id") if isinstance(parsed.get("session_id"), str) else None,
            parsed.get("retry_code") if isinstance(parsed.get("retry_code"), str) else None,
        )
    if proc.returncode != 0:
        return _cli_failure(f"agents-sdk error: {_stderr_message(proc.stderr) or f'exit code {proc.returncode}'}")
    return _cli_failure(f"agents-sdk error: unreadable response on stdout: {proc.stdout[:200]!r}")


def _parse_response(stdout: str) -> Optional[Dict[str, Any]]:
    text = stdout.strip()
    if not text:
        return None
    candidates = [text] + [line for line in reversed(text.splitlines()) if line.strip().startswith("{")]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _stderr_message(stderr: str) -> str:
    return (stderr or "").strip()


def prompt_claude_code_v2(request: Any) -> Any:
    """``prompt_claude_code`` behind the ``USE_AGENTS_SDK`` flag; same request, same response type."""
    if not use_agents_sdk():
        from adws.adw_modules.agent import prompt_claude_code  # type: ignore[import-not-found]

        return prompt_claude_code(request)
    try:
        data = _to_dict(request)
    except TypeError as error:
        return _cli_failure(f"Error: {error}")
    payload = {k: _jsonable(data[k]) for k in _REQUEST_FIELDS if k in data}
    # Fields a later ADW adds travel along; the CLI ignores what it does not know.
    for k, v in data.items():
        if k not in payload:
            payload[k] = _jsonable(v)
    return _run_cli(payload)


def execute_template_v2(request: Any) -> Any:
    """``execute_template`` behind the ``USE_AGENTS_SDK`` flag.

    Off: the original ``adws.adw_modules.agent.execute_template``. On: the original's prompt
    building (``<slash_command> <args…>``, model from the slash-command map, permissions
    skipped, output to ``agents/<adw_id>/<agent_name>/raw_output.jsonl`` under
    ``$AGENTS_SDK_PROJECT_ROOT`` or the working directory) sent through
    :func:`prompt_claude_code_v2`.
    """
    if not use_agents_sdk():
        from adws.adw_modules.agent import execute_template  # type: ignore[import-not-found]

        return execute_template(request)
    try:
        data = _to_dict(request)
    except TypeError as error:
        return _cli_failure(f"Error: {error}")
    slash_command = str(_jsonable(data.get("slash_command", "")))
    args = [str(a) for a in data.get("args", [])]
    root = os.environ.get("AGENTS_SDK_PROJECT_ROOT") or os.getcwd()
    output_dir = os.path.join(root, "agents", str(data["adw_id"]), str(data["agent_name"]))
    os.makedirs(output_dir, exist_ok=True)
    return prompt_claude_code_v2(
        {
            "prompt": " ".join([slash_command] + args),
            "adw_id": data["adw_id"],
            "agent_name": data["agent_name"],
            "model": SLASH_COMMAND_MODEL_MAP.get(slash_command, "sonnet"),
            "dangerously_skip_permissions": True,
            "output_file": os.path.join(output_dir, "raw_output.jsonl"),
        }
    )
