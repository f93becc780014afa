#!/usr/bin/env python3
"""A scripted OpenAI-compatible model that calls tools, so a real `opencode serve` runs real
tools and asks real permissions in the test suite. Loopback only, standard library only.

    scripts/tool_model.py PORT

What it answers, by the last message of a streamed chat completion request:
- the user's message, when the request offers tools, holds one directive:
    RUN: <command>                        -> a `bash` call running the command
    WRITE: <path>\\n<content>              -> a `write` call creating the file
    EDIT: <path>\\n<old>\\n---\\n<new>        -> an `edit` call replacing <old> by <new>
    ASK: <question> | <option> | <option>  -> a `question` call offering the options
  (no directive: a `bash` call writing probe.txt);
- a tool result: the text "tool-finished: " and the start of the result, so a reply shows what
  the tool did or why it did not run;
- anything else (titles, summaries, a request without tools): a short text.
GET /v1/models lists the one model, `tool-model`.
"""
import itertools
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CALLS = itertools.count(1)


def text_of(message):
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def tool_call(user_text):
    """The (tool name, arguments) a user message asks for."""
    for line_no, line in enumerate(user_text.splitlines()):
        head, _, rest = line.partition(":")
        key = head.strip().upper()
        body = "\n".join(user_text.splitlines()[line_no + 1:])
        if key == "RUN":
            return "bash", {"command": rest.strip(), "description": "Run the requested command"}
        if key == "WRITE":
            return "write", {"filePath": rest.strip(), "content": body}
        if key == "EDIT":
            old, _, new = body.partition("\n---\n")
            return "edit", {"filePath": rest.strip(), "oldString": old, "newString": new}
        if key == "ASK":
            question, *options = [s.strip() for s in rest.split("|")]
            return "question", {"questions": [{
                "question": question, "header": "Choice",
                "options": [{"label": o, "description": f"Pick {o}"} for o in options],
            }]}
    return "bash", {"command": "echo NEXUS_PROBE > probe.txt", "description": "Write the probe file"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
        self.wfile.flush()

    def _event(self, delta, finish=None):
        event = {"id": "tm", "object": "chat.completion.chunk", "created": 1, "model": "tool-model",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        self._chunk(b"data: " + json.dumps(event).encode() + b"\n\n")

    def _text(self, text):
        self._event({"role": "assistant", "content": text})
        self._event({}, "stop")

    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "tool-model", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        messages = request.get("messages", [])
        last = messages[-1] if messages else {}
        tools = {t.get("function", {}).get("name") for t in request.get("tools") or []}
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        offered = last.get("role") == "user" and tools
        name, args = tool_call(text_of(last)) if offered else (None, None)
        if name and name in tools:
            arguments = json.dumps(args)
            call_id = f"call_{next(CALLS)}"
            self._event({"role": "assistant", "content": None, "tool_calls": [
                {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]})
            for i in range(0, len(arguments), 16):
                self._event({"tool_calls": [{"index": 0, "function": {"arguments": arguments[i:i + 16]}}]})
            self._event({}, "tool_calls")
        elif last.get("role") == "tool":
            self._text("tool-finished: " + " ".join(text_of(last).split())[:160])
        elif name:
            self._text(f"the {name} tool is not offered here")
        else:
            self._text("Tool run")
        self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
