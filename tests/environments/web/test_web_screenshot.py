"""Multimodal observations (``screenshot=True``): PNGs of the real page as image content parts,
sent by the real openai client to an OpenAI-compatible endpoint; off by default."""

import base64
import json
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import agentgym
from agentgym import Message, OpenAIPolicy, ToolCall
from agentgym.environments.web.env import PNG_URL, SCREENSHOT_TEXT

pytestmark = pytest.mark.slow


def png_size(url: str) -> tuple[int, int]:
    assert url.startswith(PNG_URL)
    data = base64.b64decode(url[len(PNG_URL):])
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


class VisionEndpoint:
    """A chat-completions endpoint that records request bodies and answers with one tool call each turn."""

    def __init__(self, replies):
        self.bodies, replies = [], list(replies)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                name, args = replies.pop(0)
                reply = {"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                             "role": "assistant", "content": None, "tool_calls": [{
                                 "id": f"call_{len(outer.bodies)}", "type": "function",
                                 "function": {"name": name, "arguments": json.dumps(args)}}]}}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


async def test_screenshots_are_image_parts_of_the_observations():
    env = agentgym.make("web/shop", screenshot=True)
    first = await env.reset(task="shop-price-0")
    msg = first.messages[-1]
    assert msg.role == "user" and msg.content.startswith("Task:") and len(msg.images) == 1
    assert png_size(msg.images[0]) == (1280, 900)
    wire = msg.to_openai()["content"]
    assert wire[0] == {"type": "text", "text": msg.content} and wire[1]["image_url"]["url"] == msg.images[0]
    res = await env.step(Message.assistant(tool_calls=[ToolCall(name="goto", arguments='{"url": "/search?q=mug"}')]))
    tool, shot = res.messages[-2], res.messages[-1]
    assert tool.role == "tool" and "q=mug" in tool.content and not tool.images
    assert shot.role == "user" and shot.content == SCREENSHOT_TEXT and shot.images[0] != msg.images[0]
    assert res.info["screenshot"] == shot.images[0][len(PNG_URL):]           # the run report's copy
    assert Message.from_openai(shot.to_openai()) == shot.model_copy(update={"tokens": None, "usage": None})
    await env.close()

    plain = agentgym.make("web/shop")                                        # off by default: text only
    first = await plain.reset(task="shop-price-0")
    assert first.messages[-1].images is None and isinstance(first.messages[-1].to_openai()["content"], str)
    await plain.close()
    with pytest.raises(ValueError, match="screenshot must be true or false"):
        agentgym.make("web/shop", screenshot="yes")


async def test_a_vision_policy_receives_the_screenshots_through_the_openai_client():
    endpoint = VisionEndpoint([("goto", {"url": "/search?q=kettle"}), ("answer", {"text": "no idea"})])
    try:
        env = agentgym.make("web/shop", screenshot=True)
        policy = OpenAIPolicy("vision-model", base_url=endpoint.url, api_key="test")
        traj = await agentgym.rollout(env, policy, task="shop-price-0", max_turns=4)
        await env.close()
    finally:
        endpoint.close()
    assert traj.termination == "done" and not traj.success and len(endpoint.bodies) == 2
    def images(body):
        return [part["image_url"]["url"] for m in body["messages"] if isinstance(m["content"], list)
                for part in m["content"] if part["type"] == "image_url"]

    first, second = images(endpoint.bodies[0]), images(endpoint.bodies[1])
    assert len(first) == 1 and len(second) == 2 and second[0] == first[0]      # the page after goto came too
    assert all(png_size(u) == (1280, 900) for u in second)
    assert endpoint.bodies[1]["messages"][-1]["role"] == "user"               # after the tool result
