"""Stand-in for `agents-sdk prompt --json`: logs argv and the request, answers per FAKE_AGENTS_SDK_MODE.

Modes: ok (default) → a printed line, then an AgentPromptResponse as the last line, exit 0;
crash → a message on stderr only, exit 2; garbage → non-JSON on stdout, exit 0; slow → sleeps.
"""

import json
import os
import sys
import time

request = json.loads(sys.stdin.read())
log = os.environ.get("FAKE_AGENTS_SDK_LOG")
if log:
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps({"argv": sys.argv[1:], "request": request}) + "\n")

mode = os.environ.get("FAKE_AGENTS_SDK_MODE", "ok")
if mode == "ok":
    print("a line the original prints")
    print(json.dumps({"output": f"sdk: {request['prompt']}", "success": True, "session_id": "sdk-session", "retry_code": "none"}))
elif mode == "crash":
    print("agents-sdk: internal failure", file=sys.stderr)
    sys.exit(2)
elif mode == "slow":
    time.sleep(30)
else:
    print("not json")
