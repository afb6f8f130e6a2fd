"""Stand-in for ADW's adws/adw_modules/data_types.py: the same field names, no pydantic.

AgentPromptRequest and AgentTemplateRequest mimic pydantic models (``model_dump``);
AgentPromptResponse is a dataclass with the later versions' ``retry_code``.
"""

from dataclasses import dataclass
from typing import List, Optional


class _PydanticLike:
    _fields: tuple = ()

    def __init__(self, **kwargs):
        for name in self._fields:
            setattr(self, name, kwargs[name])

    def model_dump(self, mode: str = "python"):
        return {name: getattr(self, name) for name in self._fields}


class AgentPromptRequest(_PydanticLike):
    _fields = ("prompt", "adw_id", "agent_name", "model", "dangerously_skip_permissions", "output_file")


class AgentTemplateRequest(_PydanticLike):
    _fields = ("agent_name", "slash_command", "args", "adw_id", "model")


@dataclass
class AgentPromptResponse:
    output: str
    success: bool
    session_id: Optional[str] = None
    retry_code: str = "none"
