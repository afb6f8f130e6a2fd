"""agents-sdk behind ADW's ``prompt_claude_code``: the ``USE_AGENTS_SDK`` flag is the only switch.

Standard library only. Install into an ADW checkout (tac-5, tac-6, tac-7 layouts: scripts run
as ``python3 adws/adw_x.py`` or ``uv run adws/adw_x.py``, no ``adws/__init__.py``)::

    python3 agents_sdk_compat.py install path/to/adws      # undo: ... uninstall path/to/adws

which copies this file to ``adws/adw_modules/agents_sdk_compat.py`` and appends one line to
``adws/adw_modules/agent.py``::

    from .agents_sdk_compat import install; install(globals())  # agents-sdk

That line wraps the module's ``prompt_claude_code`` (and ``prompt_claude_code_with_retry`` in
tac-7). Every caller keeps its imports; ``execute_template`` and the original retry loop call
the wrapped functions through the module's globals.

``USE_AGENTS_SDK`` (``1``, ``true``, ``yes``, ``on``, any case; anything else is off):

- off (the default): the original function runs, unchanged; nothing of agents-sdk runs.
- on: the request goes as JSON on stdin to ``agents-sdk prompt --json --adw-version <v>
  --adw-root <project root>`` (``$AGENTS_SDK_CLI``, a command line such as ``node
  /path/dist/cli.js`` split with :func:`shlex.split`, else ``agents-sdk`` on ``PATH``;
  ``--sdk-dir $AGENTS_SDK_DIR`` when set: agents-sdk's own files, default
  ``<project root>/.agents-sdk``). The CLI prints what the original prints
  (passed on to this process's stdout and stderr) and the response as its last stdout line,
  returned as the caller's own ``AgentPromptResponse``. A failure of the CLI itself (not found,
  crash, unreadable answer, ``$AGENTS_SDK_TIMEOUT`` seconds passed) is a response with
  ``success`` false and the message as ``output``; nothing raises.

The version (tac-5, tac-6, tac-7) is read from ``agent.py``'s globals (tac-7 has
``prompt_claude_code_with_retry``, tac-6 ``SLASH_COMMAND_MODEL_MAP``); ``$AGENTS_SDK_ADW_VERSION``
overrides the guess for a much changed ``agent.py``.

``prompt_claude_code_v2`` / ``execute_template_v2`` remain for callers that import them
instead of installing; they find ``adw_modules.agent`` (or ``adws.adw_modules.agent``).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from typing import Any, Callable, Dict, List, Optional

__all__ = [
    "USE_AGENTS_SDK_ENV",
    "INSTALL_LINE",
    "use_agents_sdk",
    "cli_command",
    "install",
    "adw_version",
    "prompt_claude_code_v2",
    "prompt_claude_code_with_retry_v2",
    "execute_template_v2",
]

USE_AGENTS_SDK_ENV = "USE_AGENTS_SDK"
_TRUE = {"1", "true", "yes", "on"}
INSTALL_LINE = "from .agents_sdk_compat import install; install(globals())  # agents-sdk"
_INSTALLED = "_agents_sdk_originals"


def use_agents_sdk() -> bool:
    """Whether ``USE_AGENTS_SDK`` asks for the agents-sdk path (``1``, ``true``, ``yes``, ``on``, any case)."""
    return os.environ.get(USE_AGENTS_SDK_ENV, "").strip().lower() in _TRUE


def cli_command() -> List[str]:
    """The argv prefix of the agents-sdk CLI: ``$AGENTS_SDK_CLI`` split, or ``agents-sdk``."""
    configured = os.environ.get("AGENTS_SDK_CLI", "").strip()
    if configured:
        return shlex.split(configured)
    return [shutil.which("agents-sdk") or "agents-sdk"]


def adw_version(namespace: Dict[str, Any]) -> str:
    """The course version of an ``agent.py`` module's globals: tac-7 has the retry loop, tac-6 the model map."""
    if "prompt_claude_code_with_retry" in namespace:
        return "tac-7"
    if "SLASH_COMMAND_MODEL_MAP" in namespace:
        return "tac-6"
    return "tac-5"


def install(namespace: Dict[str, Any]) -> None:
    """Wraps ``prompt_claude_code`` (and tac-7's ``prompt_claude_code_with_retry``) in an ``agent.py``'s globals.

    Called by the line the install step appends to ``adws/adw_modules/agent.py``. Idempotent.
    """
    if _INSTALLED in namespace:
        return
    originals = {name: namespace[name] for name in ("prompt_claude_code", "prompt_claude_code_with_retry") if name in namespace}
    namespace[_INSTALLED] = originals
    adw = _Adw(namespace, originals)

    @functools.wraps(originals["prompt_claude_code"])
    def prompt_claude_code(request: Any) -> Any:
        return adw.prompt_claude_code(request)

    namespace["prompt_claude_code"] = prompt_claude_code
    if "prompt_claude_code_with_retry" in originals:

        @functools.wraps(originals["prompt_claude_code_with_retry"])
        def prompt_claude_code_with_retry(request: Any, max_retries: int = 3, retry_delays: Optional[List[int]] = None) -> Any:
            return adw.prompt_claude_code_with_retry(request, max_retries, retry_delays)

        namespace["prompt_claude_code_with_retry"] = prompt_claude_code_with_retry


class _Adw:
    """One ADW checkout: its version, project root, response class and original functions."""

    def __init__(self, namespace: Dict[str, Any], originals: Dict[str, Callable[..., Any]]):
        self.namespace = namespace
        self.originals = originals
        self.version = os.environ.get("AGENTS_SDK_ADW_VERSION", "").strip() or adw_version(namespace)
        module_file = namespace.get("__file__")
        # adws/adw_modules/agent.py: the project root holds adws/ and agents/.
        self.root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(module_file)))) if module_file else os.getcwd()

    def response(self, output: str, success: bool, session_id: Optional[str], retry_code: Optional[str]) -> Any:
        return _make_response(self.namespace.get("AgentPromptResponse"), output, success, session_id, retry_code)

    def prompt_claude_code(self, request: Any) -> Any:
        if not use_agents_sdk():
            return self.originals["prompt_claude_code"](request)
        return self.run_cli(request, [])

    def prompt_claude_code_with_retry(self, request: Any, max_retries: int = 3, retry_delays: Optional[List[int]] = None) -> Any:
        if not use_agents_sdk():
            return self.originals["prompt_claude_code_with_retry"](request, max_retries, retry_delays)
        extra = ["--with-retry", "--max-retries", str(max_retries)]
        if retry_delays is not None:
            extra += ["--retry-delays", ",".join(str(d) for d in retry_delays)]
        return self.run_cli(request, extra)

    def run_cli(self, request: Any, extra: List[str]) -> Any:
        try:
            payload = {k: _jsonable(v) for k, v in _to_dict(request).items()}
        except TypeError as error:
            return self.response(f"Error: {error}", False, None, "execution_error")
        argv = cli_command() + ["prompt", "--json", "--adw-version", self.version, "--adw-root", self.root] + extra
        sdk_dir = os.environ.get("AGENTS_SDK_DIR", "").strip()
        if sdk_dir:
            argv += ["--sdk-dir", sdk_dir]
        timeout_env = os.environ.get("AGENTS_SDK_TIMEOUT", "").strip()
        timeout = float(timeout_env) if timeout_env else None
        try:
            proc = subprocess.run(argv, input=json.dumps(payload), capture_output=True, text=True, timeout=timeout, check=False)
        except FileNotFoundError:
            return self.response(f"Error: agents-sdk CLI is not installed. Expected at: {argv[0]}", False, None, "claude_code_error")
        except subprocess.TimeoutExpired:
            return self.response(f"Error: agents-sdk timed out after {timeout} s", False, None, "timeout_error")
        except OSError as error:
            return self.response(f"Error: could not run agents-sdk ({argv[0]}): {error}", False, None, "claude_code_error")

        lines = proc.stdout.splitlines(keepends=True)
        parsed = _parse_response(lines[-1]) if lines else None
        if parsed is None or "output" not in parsed:
            message = (proc.stderr or "").strip() or f"exit code {proc.returncode}"
            if proc.returncode == 0:
                message = f"unreadable response on stdout: {proc.stdout[-200:]!r}"
            return self.response(f"agents-sdk error: {message}", False, None, "claude_code_error")
        # What the original would have printed, in its place.
        sys.stdout.write("".join(lines[:-1]))
        sys.stdout.flush()
        sys.stderr.write(proc.stderr)
        sys.stderr.flush()
        session_id = parsed.get("session_id")
        return self.response(
            str(parsed.get("output")),
            bool(parsed.get("success")) and proc.returncode == 0,
            session_id if isinstance(session_id, str) else None,
            parsed.get("retry_code") if isinstance(parsed.get("retry_code"), str) else None,
        )


def _to_dict(request: Any) -> Dict[str, Any]:
    if isinstance(request, dict):
        return dict(request)
    if hasattr(request, "model_dump"):
        try:
            return request.model_dump(mode="json")
        except TypeError:
            return request.model_dump()
    if hasattr(request, "dict") and callable(request.dict):
        return request.dict()
    if dataclasses.is_dataclass(request) and not isinstance(request, type):
        return dataclasses.asdict(request)
    raise TypeError(f"unsupported request type {type(request).__name__}: expected a pydantic model, a dataclass or a dict")


def _jsonable(value: Any) -> Any:
    """Enums (e.g. a model literal held as an Enum) and paths as plain JSON values."""
    if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):
        return value.value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


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


def _make_response(cls: Optional[type], output: str, success: bool, session_id: Optional[str], retry_code: Optional[str]) -> Any:
    data: Dict[str, Any] = {"output": output, "success": success, "session_id": session_id}
    if retry_code is not None:
        data["retry_code"] = retry_code
    if cls is None:
        return data
    names = _field_names(cls)
    if names is not None:
        # `retry_code` only when the caller's type has it (tac-7).
        data = {k: v for k, v in data.items() if k in names}
    return cls(**data)


def _parse_response(line: str) -> Optional[Dict[str, Any]]:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# --- imported instead of installed ------------------------------------------------------------

def _agent_module() -> Any:
    """The caller's ``agent`` module: ``adw_modules.agent`` (scripts run from adws/) or ``adws.adw_modules.agent``."""
    for name in ("adw_modules.agent", "adws.adw_modules.agent"):
        if name in sys.modules:
            return sys.modules[name]
    last: Optional[ImportError] = None
    for name in ("adw_modules.agent", "adws.adw_modules.agent"):
        try:
            return importlib.import_module(name)
        except ImportError as error:
            last = error
    raise ImportError(f"agents_sdk_compat: cannot find ADW's agent module (adw_modules.agent or adws.adw_modules.agent): {last}")


def _installed_agent() -> Any:
    module = _agent_module()
    install(module.__dict__)
    return module


def prompt_claude_code_v2(request: Any) -> Any:
    """``prompt_claude_code`` behind the flag, for callers that import it instead of installing."""
    return _installed_agent().prompt_claude_code(request)


def prompt_claude_code_with_retry_v2(request: Any, max_retries: int = 3, retry_delays: Optional[List[int]] = None) -> Any:
    """tac-7's ``prompt_claude_code_with_retry`` behind the flag."""
    return _installed_agent().prompt_claude_code_with_retry(request, max_retries, retry_delays)


def execute_template_v2(request: Any) -> Any:
    """``execute_template`` behind the flag: the caller's own (its model choice, paths), whose prompt goes through the wrapped function."""
    return _installed_agent().execute_template(request)


# --- the install step -------------------------------------------------------------------------

def _install_into(adws_dir: str) -> str:
    modules = os.path.join(adws_dir, "adw_modules")
    agent = os.path.join(modules, "agent.py")
    if not os.path.isfile(agent):
        raise SystemExit(f"agents_sdk_compat: {agent} not found (give the adws/ directory of an ADW checkout)")
    shutil.copyfile(os.path.abspath(__file__), os.path.join(modules, "agents_sdk_compat.py"))
    with open(agent, "r", encoding="utf-8") as f:
        text = f.read()
    if INSTALL_LINE not in text:
        with open(agent, "a", encoding="utf-8") as f:
            f.write(("" if text.endswith("\n") or not text else "\n") + INSTALL_LINE + "\n")
    return agent


def _uninstall_from(adws_dir: str) -> str:
    modules = os.path.join(adws_dir, "adw_modules")
    agent = os.path.join(modules, "agent.py")
    with open(agent, "r", encoding="utf-8") as f:
        text = f.read()
    with open(agent, "w", encoding="utf-8") as f:
        f.write(text.replace(INSTALL_LINE + "\n", "").replace(INSTALL_LINE, ""))
    copy = os.path.join(modules, "agents_sdk_compat.py")
    if os.path.exists(copy):
        os.remove(copy)
    return agent


def main(argv: List[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("install", "uninstall"):
        print("usage: python3 agents_sdk_compat.py install|uninstall <path to adws/>", file=sys.stderr)
        return 2
    if argv[0] == "install":
        print(f"installed: {_install_into(argv[1])} now routes prompt_claude_code through USE_AGENTS_SDK")
    else:
        print(f"uninstalled: {_uninstall_from(argv[1])} is as it was")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
