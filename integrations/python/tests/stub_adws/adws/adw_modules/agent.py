"""Stand-in for ADW's adws/adw_modules/agent.py: records its calls, answers a fixed response."""

from .data_types import AgentPromptResponse

calls = []


def prompt_claude_code(request):
    calls.append(("prompt_claude_code", request))
    return AgentPromptResponse(output=f"original: {request.prompt}", success=True, session_id="original-session")


def execute_template(request):
    calls.append(("execute_template", request))
    return AgentPromptResponse(output=f"original template: {request.slash_command}", success=True, session_id="original-session")
