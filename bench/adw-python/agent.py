"""A stand-in of ADW's adws/adw_modules/agent.py for the bench (written for agents-sdk, not ADW's
code): prompt_claude_code does what the original does per call: `claude --version`, the
prompt saved, one `claude -p` with its stdout in output_file and a filtered environment, the
.jsonl parsed and written as a .json array, the response from the result line."""

import json
import os
import re
import subprocess

from .data_types import AgentPromptRequest, AgentPromptResponse

CLAUDE_PATH = os.getenv("CLAUDE_CODE_PATH", "claude")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def prompt_claude_code(request: AgentPromptRequest) -> AgentPromptResponse:
    if subprocess.run([CLAUDE_PATH, "--version"], capture_output=True, text=True).returncode != 0:
        return AgentPromptResponse(output=f"Error: Claude Code CLI is not installed. Expected at: {CLAUDE_PATH}", success=False)
    match = re.match(r"^/(\w+)", request.prompt)
    if match:
        prompts = os.path.join(ROOT, "agents", request.adw_id, request.agent_name, "prompts")
        os.makedirs(prompts, exist_ok=True)
        with open(os.path.join(prompts, match.group(1) + ".txt"), "w") as f:
            f.write(request.prompt)
    os.makedirs(os.path.dirname(request.output_file), exist_ok=True)
    cmd = [CLAUDE_PATH, "-p", request.prompt, "--model", request.model, "--output-format", "stream-json", "--verbose"]
    env = {k: os.environ[k] for k in ("HOME", "USER", "PATH", "SHELL", "TERM") if k in os.environ}
    with open(request.output_file, "w") as f:
        result = subprocess.run(cmd, stdout=f, stderr=subprocess.PIPE, text=True, env=env)
    if result.returncode != 0:
        return AgentPromptResponse(output=f"Claude Code error: {result.stderr}", success=False)
    with open(request.output_file) as f:
        messages = [json.loads(line) for line in f if line.strip()]
    with open(request.output_file.replace(".jsonl", ".json"), "w") as f:
        json.dump(messages, f, indent=2)
    final = next((m for m in reversed(messages) if m.get("type") == "result"), None)
    if final is None:
        return AgentPromptResponse(output="", success=False)
    return AgentPromptResponse(output=final.get("result", ""), success=not final.get("is_error"), session_id=final.get("session_id"))
