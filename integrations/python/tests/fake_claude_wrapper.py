#!/usr/bin/env python3
"""The `claude` the tests give ADW: notes each run's argv, environment and directory, then runs
the fake claude (test/fixtures/fake-claude) with the test's settings from wrapper.json beside it
(the environment ADW passes is filtered: the settings cannot travel in it).

Extra directives in the prompt, for streams the fake does not make:
[[once:crash]] the first such run prints "boom" on stderr and exits 1 with no stdout;
[[once:edx]] the first such run prints an error_during_execution result line and exits 0;
[[cat:FILE]] prints FILE as it is and exits 0.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "wrapper.json")) as f:
    config = json.load(f)
args = sys.argv[1:]
if args == ["--version"]:
    print("2.1.197 (Claude Code)")
    sys.exit(0)
with open(config["log"], "a") as f:
    f.write(json.dumps({"argv": args, "env": dict(os.environ), "cwd": os.getcwd()}) + "\n")
prompt = args[1] if len(args) > 1 and args[0] == "-p" else ""
once = re.search(r"\[\[once:(\w+)\]\]", prompt)
if once:
    marker = os.path.join(config["state"], "once-" + once.group(1))
    if not os.path.exists(marker):
        open(marker, "w").close()
        if once.group(1) == "crash":
            sys.stderr.write("boom\n")
            sys.exit(1)
        print(json.dumps({"type": "result", "subtype": "error_during_execution", "is_error": True, "session_id": "edx-session"}))
        sys.exit(0)
cat = re.search(r"\[\[cat:([^\]]+)\]\]", prompt)
if cat:
    with open(cat.group(1)) as f:
        sys.stdout.write(f.read())
    sys.exit(0)
env = {**os.environ, "FAKE_CLAUDE_STATE_DIR": config["state"], "IS_SANDBOX": "1"}
os.execve(config["fake"], [config["fake"]] + args, env)
