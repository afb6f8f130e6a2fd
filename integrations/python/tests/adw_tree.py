"""Builds ADW checkouts in the real layout (tac-5, tac-6, tac-7) for the tests.

``adws/`` has no ``__init__.py`` (it is not a package); scripts run by path
(``python3 adws/adw_probe.py``) and import ``adw_modules.agent`` and
``adw_modules.data_types``. The modules written here are stand-ins written for these tests,
shaped as each version's: the same names, fields and defaults, and the behaviours the shim
relies on (tac-6's slash-command model map, tac-7's ``model_set`` lookup, retry loop and
``working_dir``). Their ``prompt_claude_code`` answers ``original: <prompt>`` without running
anything, so a test can tell the original ran. No pydantic: data classes with
``model_dump``/``model_copy``, as pydantic models have.
"""

import json
import os
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.join(os.path.dirname(HERE), "agents_sdk_compat.py")

DATA_TYPES = '''
import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import List, Optional


class _Model:
    def model_dump(self, mode="python"):
        return dataclasses.asdict(self)

    def model_copy(self, update=None):
        return dataclasses.replace(self, **(update or {{}}))

{retry_code_enum}

@dataclass
class AgentPromptRequest(_Model):
    prompt: str
    adw_id: str
    output_file: str
    agent_name: str = "ops"
    model: str = "sonnet"
    dangerously_skip_permissions: bool = False
{request_extra}

@dataclass
class AgentPromptResponse(_Model):
    output: str
    success: bool
    session_id: Optional[str] = None
{response_extra}
    def __post_init__(self):
        if not isinstance(self.output, str) or not isinstance(self.success, bool):
            raise TypeError("AgentPromptResponse: output must be a str and success a bool")
{response_check}

@dataclass
class AgentTemplateRequest(_Model):
    agent_name: str
    slash_command: str
    args: List[str]
    adw_id: str
    model: str = "sonnet"
{request_extra}
'''

TAC7_TYPES = dict(
    retry_code_enum=textwrap.dedent('''
        class RetryCode(str, Enum):
            CLAUDE_CODE_ERROR = "claude_code_error"
            TIMEOUT_ERROR = "timeout_error"
            EXECUTION_ERROR = "execution_error"
            ERROR_DURING_EXECUTION = "error_during_execution"
            NONE = "none"
    '''),
    request_extra="    working_dir: Optional[str] = None\n",
    response_extra="    retry_code: RetryCode = RetryCode.NONE\n",
    response_check="        self.retry_code = RetryCode(self.retry_code)\n",
)
OLD_TYPES = dict(retry_code_enum="", request_extra="", response_extra="", response_check="")

AGENT_COMMON = '''
import json
import os
from .data_types import AgentPromptRequest, AgentPromptResponse, AgentTemplateRequest
{imports}

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def prompt_claude_code(request: AgentPromptRequest) -> AgentPromptResponse:
    """Stand-in: answers without running claude, so that a test sees the original ran."""
    with open(os.path.join(PROJECT_ROOT, "original-calls.jsonl"), "a") as f:
        f.write(json.dumps(request.model_dump()) + "\\n")
    return AgentPromptResponse(output=f"original: {{request.prompt}}", success=True, session_id="original-session")


def _template_request(request, model):
    output_dir = os.path.join(PROJECT_ROOT, "agents", request.adw_id, request.agent_name)
    os.makedirs(output_dir, exist_ok=True)
    fields = dict(prompt=f"{{request.slash_command}} {{' '.join(request.args)}}", adw_id=request.adw_id, agent_name=request.agent_name,
                  model=model, dangerously_skip_permissions=True, output_file=os.path.join(output_dir, "raw_output.jsonl"))
{template_fields}
    return AgentPromptRequest(**fields)
'''

AGENT = {
    "tac-5": AGENT_COMMON.format(imports="", template_fields="") + '''

def execute_template(request):
    # tac-5: the requested model, as it is.
    return prompt_claude_code(_template_request(request, request.model))
''',
    "tac-6": AGENT_COMMON.format(imports="", template_fields="") + '''

SLASH_COMMAND_MODEL_MAP = {"/implement": "opus", "/review": "opus", "/bug": "opus", "/feature": "opus", "/patch": "opus", "/classify_issue": "sonnet"}


def execute_template(request):
    # tac-6: the slash command's model, else sonnet.
    return prompt_claude_code(_template_request(request, SLASH_COMMAND_MODEL_MAP.get(request.slash_command, "sonnet")))
''',
    "tac-7": AGENT_COMMON.format(imports="import time\nfrom .data_types import RetryCode", template_fields="    fields['working_dir'] = request.working_dir") + '''

SLASH_COMMAND_MODEL_MAP = {"/implement": {"base": "sonnet", "heavy": "opus"}, "/classify_issue": {"base": "sonnet", "heavy": "sonnet"}}


def get_model_for_slash_command(request, default="sonnet"):
    model_set = "base"
    state_file = os.path.join(PROJECT_ROOT, "agents", request.adw_id, "adw_state.json")
    if os.path.exists(state_file):
        with open(state_file) as f:
            model_set = json.load(f).get("model_set", "base")
    config = SLASH_COMMAND_MODEL_MAP.get(request.slash_command)
    return config.get(model_set, config.get("base", default)) if config else default


def prompt_claude_code_with_retry(request, max_retries=3, retry_delays=None):
    """Stand-in of the original loop: retries the retryable codes, waiting retry_delays seconds."""
    delays = list(retry_delays if retry_delays is not None else [1, 3, 5])
    for attempt in range(max_retries + 1):
        if attempt > 0:
            time.sleep(delays[attempt - 1])
        response = prompt_claude_code(request)
        if response.success or response.retry_code == RetryCode.NONE or attempt == max_retries:
            return response
    return response


def execute_template(request):
    return prompt_claude_code_with_retry(_template_request(request, get_model_for_slash_command(request)))
''',
}

PROBE = '''
"""Runs one call as an ADW script does; writes what it got to $PROBE_OUT (stdout stays the call's own)."""
import json
import os
import sys

from adw_modules.agent import execute_template, prompt_claude_code
from adw_modules import agent
from adw_modules.data_types import AgentPromptRequest, AgentPromptResponse, AgentTemplateRequest

call = json.loads(sys.argv[1])
if call["kind"] == "prompt":
    response = prompt_claude_code(AgentPromptRequest(**call["request"]))
elif call["kind"] == "retry":
    response = agent.prompt_claude_code_with_retry(AgentPromptRequest(**call["request"]), **call.get("retry", {{}}))
else:
    response = execute_template(AgentTemplateRequest(**call["request"]))
with open(os.environ["PROBE_OUT"], "w") as f:
    json.dump({{
        "type": f"{{type(response).__module__}}.{{type(response).__name__}}",
        "isinstance": isinstance(response, AgentPromptResponse),
        "output": response.output,
        "success": response.success,
        "session_id": response.session_id,
        "retry_code": getattr(getattr(response, "retry_code", None), "value", None),
    }}, f)
'''


def write_checkout(root: str, version: str) -> str:
    """An ADW checkout of `version` under `root` (no shim installed yet); returns its adws/ directory."""
    adws = os.path.join(root, "adws")
    modules = os.path.join(adws, "adw_modules")
    os.makedirs(modules, exist_ok=True)
    with open(os.path.join(modules, "__init__.py"), "w") as f:
        f.write("")
    with open(os.path.join(modules, "data_types.py"), "w") as f:
        f.write(DATA_TYPES.format(**(TAC7_TYPES if version == "tac-7" else OLD_TYPES)))
    with open(os.path.join(modules, "agent.py"), "w") as f:
        f.write(AGENT[version])
    with open(os.path.join(adws, "adw_probe.py"), "w") as f:
        f.write(PROBE.format())
    return adws


def install(adws: str) -> subprocess.CompletedProcess:
    """The documented install step."""
    return subprocess.run([sys.executable, SHIM, "install", adws], capture_output=True, text=True, check=True)


def run_probe(root: str, call: dict, env: dict) -> tuple:
    """Runs adws/adw_probe.py by path from `root`, as ADW's scripts run; returns (process, what it got)."""
    out = os.path.join(root, "probe-out.json")
    if os.path.exists(out):
        os.remove(out)
    proc = subprocess.run([sys.executable, "adws/adw_probe.py", json.dumps(call)], cwd=root, capture_output=True, text=True, env={**env, "PROBE_OUT": out}, timeout=120)
    got = None
    if os.path.exists(out):
        with open(out) as f:
            got = json.load(f)
    return proc, got
