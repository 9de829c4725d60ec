"""toy/maze: arguments are checked when the env is made, and building a maze never blocks the loop."""

import pytest

import agentgym


@pytest.mark.parametrize("size, fragment", [
    (1500, "between 2 and 100"), (1, "between 2 and 100"), ("7", "must be an integer"), (True, "must be an integer"),
])
def test_size_out_of_range_is_a_clear_error_at_make(size, fragment):
    with pytest.raises(ValueError, match=fragment):
        agentgym.make("toy/maze", size=size)


async def test_largest_maze_is_playable():
    env = agentgym.make("toy/maze", size=100)
    first = await env.reset(seed=0)
    assert "201x201 grid" in first.messages[-1].content  # the grid the moves count in (size 100 rooms a side)
    plan = await env.oracle()
    assert len(plan) >= 100
    res = await env.step(plan[0])
    assert res.channels["format"] == 0.0 and res.channels["progress"] == 1.0
    await env.close()
