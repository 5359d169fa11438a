"""A scripted OpenAI-compatible ``/v1/chat/completions`` server on loopback, for driving the REAL
``ChatOpenAI`` client in tests (non-streaming JSON and SSE streaming).

A script is a list of turns consumed one per request: ``text("…")``, ``calls(("tool", {...}), …)``,
``raw_call("tool", "{not json")`` (malformed arguments), ``fenced_call`` / ``tagged_call`` (a call written
as message text, the way small local models write them), ``failure(status)`` (an HTTP error),
``slow(turn, seconds)`` (the first byte after a delay, as a local model reading a long prompt), or a
callable ``(request_body) -> turn`` for replies that depend on what the client sent (e.g. echo a number
from a tool result). When the script runs out, the server answers "(script exhausted)". Every request
body is recorded.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Turn = dict[str, Any]
Script = list[Turn | Callable[[dict[str, Any]], Turn]]


def text(content: str) -> Turn:
    return {"content": content}


def calls(*items: tuple[str, dict[str, Any]]) -> Turn:
    return {"tool_calls": [(name, json.dumps(args)) for name, args in items]}


def raw_call(name: str, arguments: str) -> Turn:
    """A tool call whose ``arguments`` string is sent verbatim (use it for malformed JSON)."""
    return {"tool_calls": [(name, arguments)]}


def fenced_call(name: str, args: dict[str, Any], before: str = "") -> Turn:
    """A call written in the message text as a fenced JSON block (Qwen2.5-Coder's habit)."""
    body = json.dumps({"name": name, "arguments": args})
    return text(f"{before}```json\n{body}\n```")


def tagged_call(name: str, args: dict[str, Any]) -> Turn:
    """A call written in the message text between Hermes-style <tool_call> tags."""
    return text(f"<tool_call>\n{json.dumps({'name': name, 'arguments': args})}\n</tool_call>")


def failure(status: int, message: str = "stub failure") -> Turn:
    """An HTTP error response with an OpenAI-style error body."""
    return {"status": status, "error": message}


def slow(turn: Turn, seconds: float) -> Turn:
    """``turn``, with the response's first byte sent only after ``seconds``."""
    return {**turn, "delay": seconds}


@dataclass
class StubServer:
    script: Script = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def next_turn(self, body: dict[str, Any]) -> Turn:
        with self._lock:
            self.requests.append(body)
            item = self.script.pop(0) if self.script else text("(script exhausted)")
        return item(body) if callable(item) else item

    def start(self) -> StubServer:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                # A client that gave up (a timeout test) closes the socket: not an error.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._post()

            def _post(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                stub.headers.append({k.lower(): v for k, v in self.headers.items()})
                if not self.path.endswith("/chat/completions"):
                    self.send_response(404)
                    self.end_headers()
                    return
                turn = stub.next_turn(body)
                if turn.get("delay"):
                    time.sleep(float(turn["delay"]))  # simulates a slow model, not a wait for a server
                if turn.get("status"):
                    self._error(int(turn["status"]), str(turn.get("error") or ""))
                    return
                message: dict[str, Any] = {"role": "assistant", "content": turn.get("content")}
                finish = "stop"
                if turn.get("tool_calls"):
                    message["tool_calls"] = [
                        {
                            "id": f"call_{len(stub.requests)}_{i}",
                            "type": "function",
                            "function": {"name": n, "arguments": a},
                        }
                        for i, (n, a) in enumerate(turn["tool_calls"])
                    ]
                    finish = "tool_calls"
                base = {
                    "id": "chatcmpl-stub",
                    "created": int(time.time()),
                    "model": body.get("model", "stub"),
                }
                if body.get("stream"):
                    self._stream(base, message, finish)
                    return
                out = dict(
                    base,
                    object="chat.completion",
                    choices=[{"index": 0, "message": message, "finish_reason": finish}],
                    usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                )
                data = json.dumps(out).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, message: str) -> None:
                data = json.dumps({"error": {"message": message, "type": "stub_error", "code": status}})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data.encode())

            def _stream(self, base: dict[str, Any], message: dict[str, Any], finish: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
                content = message.get("content") or ""
                # Word-sized chunks so a client can show the answer token by token.
                deltas += [{"content": piece} for piece in _pieces(content)]
                for i, tc in enumerate(message.get("tool_calls", [])):
                    deltas.append(
                        {
                            "tool_calls": [
                                {
                                    "index": i,
                                    "id": tc["id"],
                                    "type": "function",
                                    "function": {"name": tc["function"]["name"], "arguments": ""},
                                }
                            ]
                        }
                    )
                    deltas.append(
                        {"tool_calls": [{"index": i, "function": {"arguments": tc["function"]["arguments"]}}]}
                    )
                for delta in deltas:
                    self._event(
                        dict(
                            base,
                            object="chat.completion.chunk",
                            choices=[{"index": 0, "delta": delta, "finish_reason": None}],
                        )
                    )
                self._event(
                    dict(
                        base,
                        object="chat.completion.chunk",
                        choices=[{"index": 0, "delta": {}, "finish_reason": finish}],
                    )
                )
                self.wfile.write(b"data: [DONE]\n\n")

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                self.wfile.flush()

        # Bound and listening once the constructor returns: no readiness wait needed.
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _pieces(content: str) -> list[str]:
    words = content.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words) if w or i < len(words) - 1]


def tool_results(body: dict[str, Any]) -> list[str]:
    """Contents of the role=tool messages in a recorded request."""
    return [str(m.get("content")) for m in body.get("messages", []) if m.get("role") == "tool"]
