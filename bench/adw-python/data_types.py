"""The request and response of the bench's ADW stand-in (ADW's field names, no pydantic)."""

import dataclasses
from dataclasses import dataclass
from typing import Optional


@dataclass
class AgentPromptRequest:
    prompt: str
    adw_id: str
    output_file: str
    agent_name: str = "ops"
    model: str = "sonnet"
    dangerously_skip_permissions: bool = False

    def model_dump(self, mode="python"):
        return dataclasses.asdict(self)


@dataclass
class AgentPromptResponse:
    output: str
    success: bool
    session_id: Optional[str] = None
