"""Helpers shared by the swe tests: one tool call as a message, one step returning the tool text."""

from __future__ import annotations

import json
import subprocess

from agentgym.types import Message, ToolCall


def call(name: str, **arguments) -> Message:
    """An assistant message with one tool call."""
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=json.dumps(arguments))])


async def run(env, name: str, **arguments):
    """Steps ``env`` with one tool call; returns (StepResult, the tool's text)."""
    result = await env.step(call(name, **arguments))
    return result, result.messages[0].content


def left_behind(pid: int) -> list[str]:
    """Docker containers and volumes labelled as made by process ``pid``."""
    found = []
    for kind in (["ps", "-a"], ["volume", "ls"]):
        done = subprocess.run(["docker", *kind, "-q", "--filter", f"label=agentgym.pid={pid}"], capture_output=True,
                              text=True, timeout=60)
        found += done.stdout.split()
    return found
