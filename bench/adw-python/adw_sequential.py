"""ADW's own order, as its Python scripts run it: one prompt_claude_code after another.
argv: a JSON list of [task id, agent, model]; prints the wall time in ms as JSON."""

import json
import os
import sys
import time

from adw_modules.agent import prompt_claude_code
from adw_modules.data_types import AgentPromptRequest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
started = time.perf_counter()
for task, agent, model in json.loads(sys.argv[1]):
    output_file = os.path.join(ROOT, "agents", "a1b2c3d4", agent, "raw_output.jsonl")
    response = prompt_claude_code(AgentPromptRequest(prompt=f"replay:{task}", adw_id="a1b2c3d4", agent_name=agent, model=model, output_file=output_file))
    if not response.success:
        sys.exit(f"{task}: {response.output}")
print(json.dumps({"ms": (time.perf_counter() - started) * 1000}))
