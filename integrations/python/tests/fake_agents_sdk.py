"""Stand-in for `agents-sdk prompt --json`: logs argv and the request, answers per FAKE_AGENTS_SDK_MODE.

Modes: ok (default) → a fixed AgentPromptResponse, exit 0; error → the CLI's error shape
(JSON on stdout, message on stderr, exit 1); crash → a message on stderr only, exit 2;
garbage → non-JSON on stdout, exit 0.
"""

import json
import os
import sys

request = json.loads(sys.stdin.read())
log = os.environ.get("FAKE_AGENTS_SDK_LOG")
if log:
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps({"argv": sys.argv[1:], "request": request}) + "\n")

mode = os.environ.get("FAKE_AGENTS_SDK_MODE", "ok")
if mode == "ok":
    print(json.dumps({"output": f"sdk: {request['prompt']}", "success": True, "session_id": "sdk-session", "retry_code": "none"}))
elif mode == "error":
    print(json.dumps({"output": "Claude Code error: boom", "success": False, "session_id": None, "retry_code": "claude_code_error"}))
    print("agents-sdk: Claude Code error: boom", file=sys.stderr)
    sys.exit(1)
elif mode == "crash":
    print("agents-sdk: internal failure", file=sys.stderr)
    sys.exit(2)
else:
    print("not json")
